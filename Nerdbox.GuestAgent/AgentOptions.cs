using Nerdbox.Api.Contract;
using Nerdbox.GuestAgent.Init;
using Nerdbox.GuestAgent.Workload;

namespace Nerdbox.GuestAgent;

/// <summary>
/// The agent's settings. As a VM's init they come from the kernel command line
/// (<c>nerdbox.channel=</c>, <c>nerdbox.spans.max=</c>, <c>nerdbox.spans.max_bytes=</c>); as a host
/// process from arguments: <c>--unix PATH</c>, <c>--channel SPEC</c>, <c>--state DIR</c>, <c>--crun PATH</c>,
/// <c>--span-buffer-spans N</c>, <c>--span-buffer-bytes N</c>, <c>--workload-buffer-items N</c>,
/// <c>--workload-buffer-bytes N</c>, and, as aids for tests and benchmarks only,
/// <c>--generate-spans N [--generate-unpaced]</c> (see <see cref="Tracing.SpanGenerator"/>) and
/// <c>--workload-endpoint ID=PORT</c> (see <see cref="WorkloadEndpoints"/>).
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

    /// <summary>Bounds of the workloads' share of the span buffer; 0 means a quarter of the agent's bounds.</summary>
    public int WorkloadBufferItems { get; init; }
    public long WorkloadBufferBytes { get; init; }

    /// <summary>
    /// Host mode only: OTLP endpoints for named pseudo-containers on the host's loopback, as
    /// <c>--workload-endpoint ID=PORT</c> (gRPC on PORT, HTTP on PORT+1; PORT 0 picks two free ports, logged).
    /// </summary>
    public IReadOnlyList<(string Id, int GrpcPort, int HttpPort)> WorkloadEndpoints { get; init; } = [];

    /// <summary>
    /// Host mode only (root): endpoints opened on 127.0.0.1:4317 and :4318 inside a network namespace, as
    /// <c>--workload-netns ID=PATH</c> (<c>/proc/PID/ns/net</c>): a container's own path, without a container.
    /// </summary>
    public IReadOnlyList<(string Id, string Path)> WorkloadNamespaces { get; init; } = [];

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
                WorkloadBufferItems = (int)Positive(cmdline.Get(AgentKernelArgs.WorkloadBufferItems), 0, int.MaxValue),
                WorkloadBufferBytes = Positive(cmdline.Get(AgentKernelArgs.WorkloadBufferBytes), 0, long.MaxValue),
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
            WorkloadBufferItems = (int)Positive(Arg("--workload-buffer-items"), 0, int.MaxValue),
            WorkloadBufferBytes = Positive(Arg("--workload-buffer-bytes"), 0, long.MaxValue),
            WorkloadEndpoints = ParseWorkloadEndpoints(args),
            WorkloadNamespaces = Pairs(args, "--workload-netns").Select(p => (p.Id, p.Value)).ToList(),
        };
    }

    private static List<(string, int, int)> ParseWorkloadEndpoints(string[] args) => Pairs(args, "--workload-endpoint").Select(p =>
        int.TryParse(p.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port <= 65534
            ? (p.Id, port, port == 0 ? 0 : port + 1)
            : throw new ArgumentException($"--workload-endpoint '{p.Id}={p.Value}': expected ID=PORT (gRPC on PORT, HTTP on PORT+1; 0 for free ports)")).ToList();

    /// <summary>Every <c>NAME ID=VALUE</c> in the arguments, the id checked as a container id.</summary>
    private static IEnumerable<(string Id, string Value)> Pairs(string[] args, string name)
    {
        for (var i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] != name) continue;
            var spec = args[i + 1];
            var eq = spec.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"{name} '{spec}': expected ID=VALUE");
            Bundles.BundleStore.ValidateId(spec[..eq]);
            yield return (spec[..eq], spec[(eq + 1)..]);
        }
    }

    /// <summary>A positive whole number up to <paramref name="max"/>; the default when absent or not one.</summary>
    private static long Positive(string? text, long fallback, long max) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? Math.Min(n, max)
            : fallback;
}
