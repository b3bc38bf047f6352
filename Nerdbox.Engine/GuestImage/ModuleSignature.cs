using System.Buffers.Binary;
using System.Text;

namespace Nerdbox.Engine.GuestImage;

/// <summary>
/// A kernel module's appended signature (what <c>scripts/sign-file</c> adds): the signature, a 12-byte
/// descriptor whose last four bytes are its length (big-endian), and a fixed marker. The image drops it:
/// the modules come from the verified kernel package, and checking each one again in the guest cost about
/// 65 ms of the boot under TCG. The kernel then loads them as unsigned (it notes a taint, not an error).
/// </summary>
public static class ModuleSignature
{
    private static readonly byte[] Marker = Encoding.ASCII.GetBytes("~Module signature appended~\n");
    private const int DescriptorLength = 12;

    /// <summary>The module without its appended signature; a module that has none comes back as it is.</summary>
    public static byte[] Strip(byte[] module, string name)
    {
        if (!module.AsSpan().EndsWith(Marker)) return module;
        var descriptorEnd = module.Length - Marker.Length;
        if (descriptorEnd < DescriptorLength)
            throw new GuestImageException($"module {name}: signature marker without its descriptor ({module.Length} bytes)");
        var signatureLength = BinaryPrimitives.ReadUInt32BigEndian(module.AsSpan(descriptorEnd - 4, 4));
        var end = (long)descriptorEnd - DescriptorLength - signatureLength;
        if (end <= 0)
            throw new GuestImageException($"module {name}: appended signature of {signatureLength} bytes is longer than the module ({module.Length} bytes)");
        return module[..(int)end];
    }
}
