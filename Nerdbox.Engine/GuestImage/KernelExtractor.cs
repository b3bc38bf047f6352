using Nerdbox.Engine.Host;
namespace Nerdbox.Engine.GuestImage;

/// <summary>
/// Gets the uncompressed ELF kernel (for PVH boot) out of a bzImage: finds the compressed
/// payload by its magic and decompresses it with the host's tool. Decompressing in the guest
/// instead costs seconds under TCG.
/// </summary>
public static class KernelExtractor
{
    private static readonly (byte[] Magic, string Tool, string[] Args, string Package)[] Formats =
    [
        ([0x02, 0x21, 0x4C, 0x18], "lz4", ["-dc"], "lz4"),
        ([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], "xz", ["-dc"], "xz-utils"),
        ([0x1F, 0x8B, 0x08], "gzip", ["-dc"], "gzip"),
        ([0x28, 0xB5, 0x2F, 0xFD], "zstd", ["-dc"], "zstd"),
    ];

    public static async Task ExtractElfAsync(string bzImage, string outputPath, CancellationToken ct)
    {
        var image = await File.ReadAllBytesAsync(bzImage, ct);
        foreach (var (magic, tool, args, package) in Formats)
        {
            for (var at = image.AsSpan().IndexOf(magic); at >= 0;)
            {
                var payload = Path.GetTempFileName();
                try
                {
                    await File.WriteAllBytesAsync(payload, image[at..], ct);
                    var toolPath = HostTools.Find(tool) ?? throw new GuestImageException($"{tool} not found; install it with: apt-get install -y {package}");
                    await DecompressAsync(toolPath, args, payload, outputPath, ct);
                    if (IsElf(outputPath)) return;
                }
                finally
                {
                    File.Delete(payload);
                }
                var next = image.AsSpan(at + 1).IndexOf(magic);
                at = next < 0 ? -1 : at + 1 + next;
            }
        }
        throw new GuestImageException($"no ELF kernel found inside {bzImage} (lz4, xz, gzip and zstd payloads tried)");
    }

    private static async Task DecompressAsync(string tool, string[] args, string input, string output, CancellationToken ct)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(input);
        using var p = System.Diagnostics.Process.Start(psi)!;
        _ = p.StandardError.ReadToEndAsync(ct); // trailing data after the payload makes the tool complain; the ELF is checked instead
        await using (var fs = File.Create(output)) await p.StandardOutput.BaseStream.CopyToAsync(fs, ct);
        await p.WaitForExitAsync(ct);
    }

    private static bool IsElf(string path)
    {
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return fs.Length > 1_000_000 && fs.Read(head) == 4 && head.SequenceEqual("\x7F"u8.ToArray().Concat("ELF"u8.ToArray()).ToArray());
    }
}
