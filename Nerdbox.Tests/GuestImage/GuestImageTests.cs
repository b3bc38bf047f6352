using Nerdbox.Engine.GuestImage;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;

namespace Nerdbox.Tests.GuestImage;

/// <summary>The guest image: cached, rebuilt only when an input changes, and a clear error when the host lacks a program.</summary>
public sealed class GuestImageTests(GuestImageFixture fixture)
{
    [Fact]
    public async Task A_second_build_with_unchanged_inputs_reuses_the_cached_image()
    {
        var first = await fixture.ImageAsync();
        var kernelWritten = File.GetLastWriteTimeUtc(first.KernelPath);
        var initrdWritten = File.GetLastWriteTimeUtc(first.InitrdPath);
        var lines = new List<string>();
        var again = await new GuestImageBuilder(GuestImageBuilder.DefaultCacheDirectory, lines.Add).EnsureAsync();
        Assert.Equal(first.InputsHash, again.InputsHash);
        Assert.Equal(kernelWritten, File.GetLastWriteTimeUtc(again.KernelPath));
        Assert.Equal(initrdWritten, File.GetLastWriteTimeUtc(again.InitrdPath));
        Assert.Empty(lines); // nothing was built, so nothing was reported
    }

    [Fact]
    public async Task The_image_holds_an_ELF_kernel_and_an_initramfs_whose_init_is_the_agent()
    {
        var image = await fixture.ImageAsync();
        var kernel = File.ReadAllBytes(image.KernelPath).AsSpan(0, 4).ToArray();
        Assert.Equal(new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F' }, kernel);
        var cpio = File.ReadAllBytes(image.InitrdPath);
        Assert.Equal("070701"u8.ToArray(), cpio.AsSpan(0, 6).ToArray());
        foreach (var entry in new[] { "init\0", "usr/bin/crun\0", "bin/busybox\0", "dev/console\0", "lib/modules/nerdbox.order\0", "lib/modules/virtio_console.ko\0", "lib/modules/erofs.ko\0" })
            Assert.True(cpio.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(entry)) >= 0, $"initramfs has no {entry.TrimEnd('\0')}");
    }

    [Fact]
    public async Task Crun_gets_the_libsystemd_stand_in_and_none_of_the_real_ones_dependencies()
    {
        var entries = NewcArchive.Read(File.ReadAllBytes((await fixture.ImageAsync()).InitrdPath)).ToDictionary(e => e.Name);
        // The stand-in is a few functions, where the real library is 0.8 MB.
        Assert.InRange(entries["lib/x86_64-linux-gnu/libsystemd.so.0"].Data.Length, 1, 64 * 1024);
        foreach (var dependency in new[] { "libgcrypt.so.20", "libgpg-error.so.0", "libzstd.so.1", "liblzma.so.5", "liblz4.so.1" })
            Assert.DoesNotContain("lib/x86_64-linux-gnu/" + dependency, entries.Keys);
        // crun's own libraries stay.
        foreach (var library in new[] { "libseccomp.so.2", "libcap.so.2", "libyajl.so.2", "libc.so.6" })
            Assert.Contains("lib/x86_64-linux-gnu/" + library, entries.Keys);
    }

    [Fact]
    public async Task A_stand_in_that_lacks_a_function_crun_imports_is_not_used_and_the_reason_names_it()
    {
        var root = Directory.CreateTempSubdirectory("nerdbox-standin-").FullName;
        try
        {
            var dir = Directory.CreateDirectory(Path.Combine(root, "Nerdbox.Engine", "GuestImage", "Libsystemd")).FullName;
            var sources = Engine.GuestImage.Libsystemd.LibsystemdStandIn.Sources(SourceTree.FindRoot()!);
            File.WriteAllText(Path.Combine(dir, "libsystemd.c"), string.Join('\n', File.ReadAllLines(sources[0]).Where(l => !l.StartsWith("int sd_notify(", StringComparison.Ordinal))));
            File.WriteAllText(Path.Combine(dir, "libsystemd.map"), File.ReadAllText(sources[1]).Replace(" sd_notify;", ""));
            var crun = Engine.Host.HostTools.Find("crun")!;

            var (built, reason) = await Engine.GuestImage.Libsystemd.LibsystemdStandIn.BuildAsync(root, crun, Path.Combine(root, "out"), CancellationToken.None);
            Assert.Null(built);
            Assert.Contains("crun needs what it does not define: undefined symbol: sd_notify", reason);

            // A source tree without the stand-in builds with the real library.
            var (none, why) = await Engine.GuestImage.Libsystemd.LibsystemdStandIn.BuildAsync(Path.Combine(root, "empty"), crun, Path.Combine(root, "out2"), CancellationToken.None);
            Assert.Null(none);
            Assert.Equal($"its sources are not in {Path.Combine(root, "empty")}", why);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task The_image_modules_carry_no_appended_signature()
    {
        var cpio = File.ReadAllBytes((await fixture.ImageAsync()).InitrdPath);
        Assert.True(cpio.AsSpan().IndexOf("~Module signature appended~"u8) < 0, "a module in the initramfs still has its signature");
    }

    [Fact]
    public void Stripping_a_module_signature_keeps_the_module_and_refuses_a_bad_descriptor()
    {
        var body = "ELF module body"u8.ToArray();
        byte[] Signed(uint declared, int actual) =>
            [.. body, .. new byte[actual], 0, 0, 2, 0, 0, 0, 0, 0, (byte)(declared >> 24), (byte)(declared >> 16), (byte)(declared >> 8), (byte)declared, .. "~Module signature appended~\n"u8];
        Assert.Equal(body, ModuleSignature.Strip(Signed(5, 5), "m.ko"));
        Assert.Same(body, ModuleSignature.Strip(body, "m.ko"));
        var e = Assert.Throws<GuestImageException>(() => ModuleSignature.Strip(Signed(4096, 5), "bad.ko"));
        Assert.Contains("bad.ko", e.Message);
        Assert.Contains("4096", e.Message);
    }

    [Fact]
    public void A_missing_host_program_names_the_command_that_installs_it()
    {
        var e = Assert.Throws<GuestImageException>(() =>
            HostPackages.Require([("nerdbox-no-such-program", "nerdbox-no-such-package", "a test's need")]));
        Assert.Contains("nerdbox-no-such-program (a test's need)", e.Message);
        Assert.Contains("apt-get install -y --no-install-recommends nerdbox-no-such-package", e.Message);
    }

    [Fact]
    public void The_cpio_writer_makes_newc_entries_the_kernel_can_unpack()
    {
        using var ms = new MemoryStream();
        using (var cpio = new CpioWriter(ms))
        {
            cpio.Directory("etc");
            cpio.File("etc/hostname", "nerdbox\n"u8.ToArray(), 0x1A4);
            cpio.Symlink("bin/sh", "busybox");
            cpio.CharDevice("dev/console", 5, 1);
        }
        var bytes = ms.ToArray();
        Assert.Equal(0, bytes.Length % 4);
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        Assert.Equal(5, System.Text.RegularExpressions.Regex.Matches(text, "070701").Count);
        Assert.Contains("etc/hostname\0", text);
        Assert.Contains("nerdbox\n", text);
        Assert.EndsWith("TRAILER!!!\0", text.TrimEnd('\0') + "\0");
        // The regular file's header: mode 0100644, size 8.
        var at = text.IndexOf("etc/hostname", StringComparison.Ordinal) - 110;
        Assert.Equal("000081a4", text.Substring(at + 14, 8));
        Assert.Equal("00000008", text.Substring(at + 54, 8));
    }
}
