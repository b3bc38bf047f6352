using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Nerdbox.GuestAgent.Init;

/// <summary>
/// The agent's own messages, written straight to its stderr (the VM's console when it is init).
/// Not through <see cref="Console"/>: on a terminal, the first use of Console makes the runtime handle
/// SIGCHLD, and a runtime that is PID 1 then reaps every child itself. An exit it reaps never reaches
/// <see cref="Tasks.ChildReaper"/>, and the task waiting for it would wait forever.
/// </summary>
internal static class AgentLog
{
    private static readonly object Gate = new();
    private static readonly Stream Stderr = new FileStream(new SafeFileHandle(2, ownsHandle: false), FileAccess.Write, bufferSize: 0);

    public static void Write(string message)
    {
        var line = Encoding.UTF8.GetBytes("nerdbox-agent: " + message + "\n");
        lock (Gate)
        {
            try
            {
                Stderr.Write(line);
            }
            catch (IOException)
            {
                // A console that is gone must not take the agent down with it.
            }
        }
    }
}
