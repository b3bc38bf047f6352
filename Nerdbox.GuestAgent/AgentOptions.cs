using Nerdbox.Api.Contract;
using Nerdbox.GuestAgent.Init;

namespace Nerdbox.GuestAgent;

/// <summary>
/// The agent's settings. As a VM's init they come from the kernel command line
/// (<c>nerdbox.channel=</c>, <c>nerdbox.spans.max=</c>, <c>nerdbox.spans.max_bytes=</c>); as a host
/// process from arguments: <c>--unix PATH</c>, <c>--channel SPEC</c>, <c>--state DIR</c>, <c>--crun PATH</c>,
/// <c>--span-buffer-spans N</c>, <c>--span-buffer-bytes N</c>, and, as a benchmark aid only,
/// <c>--generate-spans N [--generate-unpaced]</c> (see <see cref="Tracing.SpanGenerator"/>).
/// </summary>
internal sealed class AgentOptions
{
    public bool IsPid1 { get; init; }
    public string ChannelSpec { get; init; } = "virtio-serial";
    public string ChannelDescription { get; set; } = "";
    public string StateDirectory { get; init; } = "/run/nerdbox";
    public string CrunPath { get; init; } = "/usr/bin/crun";
    /// <summary>Bounds of the guest's span buffer (spans held until the host reads them).</summary>
    public int SpanBufferSpans { get; init; } = Tracing.SpanBuffer.DefaultMaxSpans;
    public long SpanBufferBytes { get; init; } = Tracing.SpanBuffer.DefaultMaxBytes;

    /// <summary>Host mode only, for the relay benchmark: spans to make once the host opens the trace stream.</summary>
    public long GenerateSpans { get; init; }

    /// <summary>Whether the generator ignores the buffer's fill (and so overflows it) rather than pacing itself to it.</summary>
    public bool GenerateUnpaced { get; init; }

    public string BundleRoot => Path.Combine(StateDirectory, "bundles");
    public string CrunRoot => Path.Combine(StateDirectory, "crun");

    public static AgentOptions Parse(string[] args, bool isPid1)
    {
        string? Arg(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        if (isPid1)
        {
            var cmdline = KernelCmdline.Read();
            return new AgentOptions
            {
                IsPid1 = true,
                ChannelSpec = cmdline.Get(AgentKernelArgs.Channel) ?? "auto",
                SpanBufferSpans = (int)Positive(cmdline.Get(AgentKernelArgs.SpanBufferSpans), Tracing.SpanBuffer.DefaultMaxSpans, int.MaxValue),
                SpanBufferBytes = Positive(cmdline.Get(AgentKernelArgs.SpanBufferBytes), Tracing.SpanBuffer.DefaultMaxBytes, long.MaxValue),
            };
        }
        var unix = Arg("--unix");
        var channel = Arg("--channel") ?? (unix is not null ? "unix:" + unix : null)
            ?? throw new ArgumentException("usage: nerdbox-agent --unix PATH [--state DIR] [--crun PATH] (or --channel SPEC)");
        return new AgentOptions
        {
            IsPid1 = false,
            ChannelSpec = channel,
            StateDirectory = Arg("--state") ?? Path.Combine(Path.GetTempPath(), $"nerdbox-agent-{Environment.ProcessId}"),
            CrunPath = Arg("--crun") ?? "/usr/bin/crun",
            SpanBufferSpans = (int)Positive(Arg("--span-buffer-spans"), Tracing.SpanBuffer.DefaultMaxSpans, int.MaxValue),
            SpanBufferBytes = Positive(Arg("--span-buffer-bytes"), Tracing.SpanBuffer.DefaultMaxBytes, long.MaxValue),
            GenerateSpans = Arg("--generate-spans") is { } g ? Positive(g, 0, long.MaxValue) : 0,
            GenerateUnpaced = Array.IndexOf(args, "--generate-unpaced") >= 0,
        };
    }

    /// <summary>A positive whole number up to <paramref name="max"/>; the default when absent or not one.</summary>
    private static long Positive(string? text, long fallback, long max) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? Math.Min(n, max)
            : fallback;
}
