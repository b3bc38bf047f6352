using System.Text;
using System.Text.Json.Nodes;
using Nerdbox.Engine.Tasks;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Vm;

/// <summary>
/// The guest's root, with the OCI runtime binary on it, is a read-only file system that is not a tmpfs, so that crun
/// skips its per-call copy of itself (its CVE-2019-5736 guard) without the guard being lost: a container cannot
/// write to it.
/// </summary>
[Collection(nameof(VmCollection))]
public sealed class RuntimeBinaryTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task A_container_given_the_runtime_binary_cannot_write_to_it()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("runtime-binary", "sh", "-c",
            "if echo x >> /runtime 2>/dev/null; then echo writable; else echo refused; fi");
        // The bundle asks for the guest's own crun, bound writable: only the file system under it can refuse the write.
        BundleConfig.Edit(bundle, config => config["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/runtime",
            ["type"] = "bind",
            ["source"] = "/usr/bin/crun",
            ["options"] = new JsonArray("bind", "rw"),
        }));

        Assert.Equal("refused\n", await StdoutOfAsync(scratch, "runtime-binary", bundle));
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task The_runtime_runs_from_its_own_path_not_from_a_copy_of_itself()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("runtime-in-place", "cat", "/runtime-exe");
        // A createRuntime hook is crun's child in the guest's namespaces: it writes what crun runs from into the
        // container's root (its bundle path comes in the state on its stdin), and the container prints it.
        const string hook = """read -r s; b=$(echo "$s" | tr , '\n' | grep '"bundle"' | cut -d'"' -f4); readlink /proc/$PPID/exe > "$b/rootfs/runtime-exe" """;
        BundleConfig.Edit(bundle, config => config["hooks"] = new JsonObject
        {
            ["createRuntime"] = new JsonArray(new JsonObject { ["path"] = "/bin/busybox", ["args"] = new JsonArray("sh", "-c", hook) }),
        });

        // A copy would read "/memfd:crun_cloned:/proc/self/exe (deleted)".
        Assert.Equal("/usr/bin/crun\n", await StdoutOfAsync(scratch, "runtime-in-place", bundle));
        scratch.AssertNothingLeft();
    }

    /// <summary>Runs the bundle's container to its exit, which must be 0, deletes it, and returns its stdout.</summary>
    private async Task<string> StdoutOfAsync(VmScratch scratch, string id, string bundle)
    {
        await using var task = await VmTask.CreateAsync(id, bundle, await scratch.OptionsAsync(fixture));
        await task.StartAsync();
        var (status, _) = await task.WaitAsync();
        Assert.Equal(0, status);
        var stdout = Encoding.UTF8.GetString(task.Output.Stdout());
        await task.DeleteAsync();
        return stdout;
    }
}
