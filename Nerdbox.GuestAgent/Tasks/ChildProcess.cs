using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Tasks;

/// <summary>
/// Spawns programs with posix_spawn so that their exit status goes through <see cref="ChildReaper"/>
/// (System.Diagnostics.Process would race the reaper for it).
/// </summary>
internal static class ChildProcess
{
    private static readonly string[] DefaultEnv = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

    public sealed record Result(int ExitCode, string Output, ChildExit Exit);

    /// <summary>A pipe whose read end stays with the agent; the write end goes to the child.</summary>
    public sealed class Pipe : IDisposable
    {
        public SafeFileHandle Read { get; }
        public int WriteFd { get; private set; }

        public unsafe Pipe()
        {
            int* fds = stackalloc int[2];
            if (Libc.Pipe2(fds, Libc.O_CLOEXEC) != 0) throw new IOException("pipe2: " + Libc.LastErrorText());
            Read = new SafeFileHandle(fds[0], ownsHandle: true);
            WriteFd = fds[1];
        }

        /// <summary>Closes the agent's copy of the write end so that reads end when the child's copies close.</summary>
        public void CloseWrite()
        {
            if (WriteFd >= 0) Libc.Close(WriteFd);
            WriteFd = -1;
        }

        private bool _readHandedOver;

        /// <summary>A stream over the read end; the stream owns it from then on.</summary>
        public Stream OpenRead()
        {
            _readHandedOver = true;
            return new FileStream(Read, FileAccess.Read, bufferSize: 0);
        }

        public void Dispose()
        {
            CloseWrite();
            if (!_readHandedOver) Read.Dispose();
        }
    }

    /// <summary>Starts <paramref name="path"/> with stdin from /dev/null and stdout/stderr on the given fds.</summary>
    public static unsafe int Spawn(string path, IReadOnlyList<string> args, int stdoutFd, int stderrFd)
    {
        var actions = stackalloc byte[256]; // posix_spawn_file_actions_t is 80 bytes on glibc x86-64
        Libc.PosixSpawnFileActionsInit(actions);
        var allocations = new List<IntPtr>();
        try
        {
            Libc.PosixSpawnFileActionsAddOpen(actions, 0, "/dev/null", 0, 0);
            Libc.PosixSpawnFileActionsAddDup2(actions, stdoutFd, 1);
            Libc.PosixSpawnFileActionsAddDup2(actions, stderrFd, 2);
            var argv = ToCStringArray([path, .. args], allocations);
            var envp = ToCStringArray(DefaultEnv, allocations);
            var cpath = (byte*)Utf8(path, allocations);
            int pid;
            var rc = Libc.PosixSpawn(&pid, cpath, actions, null, argv, envp);
            if (rc != 0) throw new IOException($"spawn {path}: errno {rc} ({Marshal.GetPInvokeErrorMessage(rc)})");
            ChildReaper.Instance.ChildSpawned();
            return pid;
        }
        finally
        {
            Libc.PosixSpawnFileActionsDestroy(actions);
            foreach (var p in allocations) Marshal.FreeHGlobal(p);
        }
    }

    /// <summary>Runs a program to completion and returns its exit code with stdout and stderr together.</summary>
    public static async Task<Result> RunAsync(string path, IReadOnlyList<string> args, CancellationToken ct = default)
    {
        using var output = new Pipe();
        var pid = Spawn(path, args, output.WriteFd, output.WriteFd);
        output.CloseWrite();
        await using var reader = output.OpenRead();
        var text = await new StreamReader(reader, Encoding.UTF8).ReadToEndAsync(ct);
        var exit = await ChildReaper.Instance.WaitAsync(pid);
        return new Result(exit.ExitCode, text, exit);
    }

    private static unsafe byte** ToCStringArray(IReadOnlyList<string> items, List<IntPtr> allocations)
    {
        var array = (byte**)Marshal.AllocHGlobal(sizeof(byte*) * (items.Count + 1));
        allocations.Add((IntPtr)array);
        for (var i = 0; i < items.Count; i++) array[i] = (byte*)Utf8(items[i], allocations);
        array[items.Count] = null;
        return array;
    }

    private static unsafe IntPtr Utf8(string s, List<IntPtr> allocations)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var p = Marshal.AllocHGlobal(bytes.Length + 1);
        allocations.Add(p);
        Marshal.Copy(bytes, 0, p, bytes.Length);
        ((byte*)p)[bytes.Length] = 0;
        return p;
    }
}
