using Nerdbox.GuestAgent.Init;

namespace Nerdbox.GuestAgent;

/// <summary>
/// The agent's settings. As a VM's init they come from the kernel command line
/// (<c>nerdbox.channel=</c>); as a host process from arguments:
/// <c>--unix PATH</c>, <c>--channel SPEC</c>, <c>--state DIR</c>, <c>--crun PATH</c>.
/// </summary>
internal sealed class AgentOptions
{
    public bool IsPid1 { get; init; }
    public string ChannelSpec { get; init; } = "virtio-serial";
    public string ChannelDescription { get; set; } = "";
    public string StateDirectory { get; init; } = "/run/nerdbox";
    public string CrunPath { get; init; } = "/usr/bin/crun";
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
            return new AgentOptions { IsPid1 = true, ChannelSpec = cmdline.Get("nerdbox.channel") ?? "auto" };
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
        };
    }
}
