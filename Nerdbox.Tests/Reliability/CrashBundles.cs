using System.Text.Json.Nodes;
using Nerdbox.Engine.Bundles;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// Bundles whose container brings its guest down for real, with no help from the shim or the agent:
/// a kernel panic through the kernel's own crash trigger, and a crash of the agent (PID 1) by
/// overwriting its code through <c>/proc/1/mem</c>, which the kernel then reports as init's death.
/// </summary>
internal static class CrashBundles
{
    /// <summary>
    /// The container waits this long before it brings the guest down, so the failure lands mid-task, after
    /// start has answered, as the tests mean it to. Nothing asserts on it: a start that had not answered yet
    /// would fail the test with its own error, not pass it.
    /// </summary>
    private const int MidTaskDelaySeconds = 2;

    /// <summary>Writes <c>c</c> to <c>/proc/sysrq-trigger</c>: the kernel panics ("sysrq triggered crash"). The sample's /proc is writable.</summary>
    public static Task<string> KernelPanicAsync(Nerdbox.Testing.VmScratch scratch) =>
        scratch.BundleAsync("panic", "sh", "-c", $"echo container-started; sleep {MidTaskDelaySeconds}; echo c > /proc/sysrq-trigger; sleep 600");

    /// <summary>
    /// Shares the guest's PID namespace (so that PID 1 is the agent) and may ptrace it, then zeroes the
    /// agent's code: its next instruction faults, its fault handler faults in turn, and the kernel kills it
    /// with SIGSEGV. Signals alone cannot do it: the kernel shields init from them, and the agent's runtime
    /// handles the rest (SIGQUIT and SIGTERM power the VM off in order).
    /// </summary>
    public static async Task<string> AgentCrashAsync(Nerdbox.Testing.VmScratch scratch)
    {
        var zeroAgentCode = $$"""
            echo container-started
            sleep {{MidTaskDelaySeconds}}
            while read range perms offset dev inode path; do
              case "$perms:$path" in
                r-xp:/init)
                  start=${range%-*}; end=${range#*-}
                  dd if=/dev/zero of=/proc/1/mem bs=4096 seek=$((0x$start / 4096)) count=$(( (0x$end - 0x$start) / 4096 )) conv=notrunc 2>&1 ;;
              esac
            done < /proc/1/maps
            echo the agent survived
            sleep 600
            """;
        var bundle = await scratch.BundleAsync("agent-crash", "sh", "-c", zeroAgentCode);
        EditConfig(bundle, config =>
        {
            var namespaces = config["linux"]!["namespaces"]!.AsArray();
            foreach (var pid in namespaces.Where(n => n!["type"]!.GetValue<string>() == "pid").ToList()) namespaces.Remove(pid);
            JsonArray Ptrace() => new("CAP_SYS_PTRACE");
            config["process"]!["capabilities"] = new JsonObject { ["bounding"] = Ptrace(), ["effective"] = Ptrace(), ["permitted"] = Ptrace() };
        });
        return bundle;
    }

    /// <summary>
    /// A bundle whose create never finishes: its <c>createRuntime</c> hook, which crun runs in the guest and waits
    /// for before create returns, sleeps for ten minutes (busybox's <c>sleep</c>, from the guest's own image).
    /// </summary>
    public static async Task<string> StuckCreateAsync(Nerdbox.Testing.VmScratch scratch)
    {
        var bundle = await scratch.BundleAsync("stuck-create", "sh", "-c", "echo the create finished");
        EditConfig(bundle, config => config["hooks"] = new JsonObject
        {
            ["createRuntime"] = new JsonArray(new JsonObject { ["path"] = "/bin/busybox", ["args"] = new JsonArray("sleep", "600") }),
        });
        return bundle;
    }

    /// <summary>Changes the bundle's config.json in place, then loads the bundle as the shim would, so that it is still one it accepts.</summary>
    private static void EditConfig(string bundle, Action<JsonObject> edit)
    {
        BundleConfig.Edit(bundle, edit);
        OciBundle.Load(bundle);
    }
}
