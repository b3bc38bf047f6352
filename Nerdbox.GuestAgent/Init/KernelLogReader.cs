using Nerdbox.GuestAgent.Native;

namespace Nerdbox.GuestAgent.Init;

/// <summary>
/// The kernel's log buffer, copied whole without consuming it (as <c>dmesg</c> does). Read only when
/// the host asks, after the agent serves, so that it costs the boot nothing.
/// </summary>
internal static unsafe class KernelLogReader
{
    /// <summary>The most the agent sends, whatever the host asks: the buffer is 128 KiB by default, 1 MiB with a kernel trace.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    public static (byte[] Text, int BufferBytes) Read(int maxBytes)
    {
        var size = Libc.Klogctl(Libc.SYSLOG_ACTION_SIZE_BUFFER, null, 0);
        if (size <= 0) return ([], 0);
        var buffer = new byte[size];
        int read;
        fixed (byte* p = buffer) read = Libc.Klogctl(Libc.SYSLOG_ACTION_READ_ALL, p, size);
        if (read <= 0) return ([], size);
        var limit = Math.Clamp(maxBytes <= 0 ? MaxBytes : maxBytes, 1, MaxBytes);
        // The start is what matters when there is too much: the records of the boot up to /init.
        return (buffer.AsSpan(0, Math.Min(read, limit)).ToArray(), size);
    }
}
