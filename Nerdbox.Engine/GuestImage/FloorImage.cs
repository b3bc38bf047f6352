using System.Text;
using Nerdbox.Engine.Host;

namespace Nerdbox.Engine.GuestImage;

/// <summary>
/// The initramfs of a bare VM, the floor that a run is measured against: a static busybox and an
/// /init script that prints <see cref="Line"/> on the console and powers off. Nothing else: no agent,
/// no modules, no crun. Built next to the guest image and rebuilt when busybox changes.
/// </summary>
public static class FloorImage
{
    /// <summary>What the bare VM's /init prints on the console.</summary>
    public const string Line = "nerdbox-floor-ready";

    // Power-off needs ACPI; where it returns, a restart with the VMM's no-reboot setting ends the VM as well.
    private const string InitScript = "#!/bin/busybox sh\n/bin/busybox echo " + Line + "\n/bin/busybox poweroff -f\n/bin/busybox reboot -f\n";

    /// <summary>The floor's initramfs under <paramref name="cacheDirectory"/>, written when missing or when busybox changed.</summary>
    /// <param name="busybox">the busybox binary; default: the host's on PATH.</param>
    public static async Task<string> EnsureAsync(string cacheDirectory, CancellationToken ct, string? busybox = null)
    {
        busybox ??= HostTools.Find("busybox")
            ?? throw new GuestImageException("busybox not found; install it with: apt-get install -y busybox-static");
        var content = await File.ReadAllBytesAsync(busybox, ct);
        if (!IsStatic(content))
            throw new GuestImageException($"{busybox} is dynamically linked; the bare VM has no libraries: apt-get install -y busybox-static");
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData([.. content, .. Encoding.ASCII.GetBytes(InitScript)]))[..16].ToLowerInvariant();
        var directory = Path.Combine(cacheDirectory, "floor");
        var path = Path.Combine(directory, $"floor-{hash}.cpio");
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(directory);
        WholeFile.Write(path, stream =>
        {
            using var cpio = new CpioWriter(stream);
            foreach (var d in new[] { "dev", "bin", "proc", "sys" }) cpio.Directory(d);
            cpio.CharDevice("dev/console", 5, 1);
            cpio.File("bin/busybox", content);
            cpio.File("init", Encoding.ASCII.GetBytes(InitScript));
        });
        return path;
    }

    /// <summary>A static ELF has no program interpreter (PT_INTERP) header.</summary>
    private static bool IsStatic(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[4] != 2) return false;
        var phoff = BitConverter.ToInt64(elf, 0x20);
        int phentsize = BitConverter.ToUInt16(elf, 0x36), phnum = BitConverter.ToUInt16(elf, 0x38);
        for (var i = 0; i < phnum; i++)
        {
            var at = phoff + (long)i * phentsize;
            if (at + 4 > elf.Length) return false;
            if (BitConverter.ToUInt32(elf, (int)at) == 3 /* PT_INTERP */) return false;
        }
        return true;
    }
}
