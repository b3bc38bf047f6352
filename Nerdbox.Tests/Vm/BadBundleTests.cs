using Nerdbox.Engine.Bundles;
using Nerdbox.Engine.Tasks;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.Vm;

/// <summary>A bad bundle fails before any VM boots, with a message naming the problem.</summary>
public sealed class BadBundleTests(GuestImageFixture fixture)
{
    private async Task<BundleException> CreateFails(VmScratch scratch, string bundle)
    {
        var e = await Assert.ThrowsAsync<BundleException>(async () => await VmTask.CreateAsync("bad", bundle, await scratch.OptionsAsync(fixture)));
        Assert.Empty(scratch.VmmProcesses());
        return e;
    }

    [Fact]
    public async Task Missing_config_json_is_named()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("b", "true");
        File.Delete(Path.Combine(bundle, "config.json"));
        Assert.Contains("config.json is missing", (await CreateFails(scratch, bundle)).Message);
    }

    [Fact]
    public async Task Invalid_config_json_is_named()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("b", "true");
        File.WriteAllText(Path.Combine(bundle, "config.json"), "{ \"ociVersion\": ");
        Assert.Contains("config.json is not valid JSON", (await CreateFails(scratch, bundle)).Message);
    }

    [Fact]
    public async Task Config_without_process_args_is_named()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("b", "true");
        File.WriteAllText(Path.Combine(bundle, "config.json"), """{"ociVersion":"1.0.2","process":{"args":[]},"root":{"path":"rootfs"}}""");
        Assert.Contains("process.args must be a non-empty list", (await CreateFails(scratch, bundle)).Message);
    }

    [Fact]
    public async Task Missing_rootfs_is_named()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("b", "true");
        Directory.Delete(Path.Combine(bundle, "rootfs"), true);
        Assert.Contains("rootfs 'rootfs' does not exist", (await CreateFails(scratch, bundle)).Message);
    }

    [Fact]
    public async Task Missing_bundle_directory_is_named()
    {
        await using var scratch = new VmScratch();
        Assert.Contains("is not a directory", (await CreateFails(scratch, Path.Combine(scratch.Root, "nope"))).Message);
    }

    [Fact]
    public async Task Unsafe_task_id_is_refused()
    {
        await using var scratch = new VmScratch();
        var bundle = await scratch.BundleAsync("b", "true");
        var e = await Assert.ThrowsAsync<BundleException>(async () => await VmTask.CreateAsync("../escape", bundle, await scratch.OptionsAsync(fixture)));
        Assert.Contains("invalid task id", e.Message);
    }
}
