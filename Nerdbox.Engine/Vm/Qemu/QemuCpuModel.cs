namespace Nerdbox.Engine.Vm.Qemu;

/// <summary>
/// The guest CPU model QEMU is given (<c>-cpu</c>) unless the user names one: the host's CPU under KVM; under TCG
/// the emulator's fullest model without the "fast string" features.
/// </summary>
public static class QemuCpuModel
{
    /// <summary>
    /// With ERMS or FSRM, the kernel (clear_page, memcpy) and glibc (memset and memcpy above a few KiB) use
    /// <c>rep stosb</c>/<c>rep movsb</c>. TCG runs a rep-prefixed instruction one byte per iteration, so a guest that
    /// zeroes or copies megabytes (the initramfs unpack, a managed heap being cleared) spends far longer there than in
    /// the vector loops it takes without them.
    /// </summary>
    public const string Tcg = "max,-erms,-fsrm";

    public const string Kvm = "host";

    public static string Default(string accelerator) => accelerator == "kvm" ? Kvm : Tcg;

    /// <summary>Why <paramref name="model"/> cannot be QEMU's <c>-cpu</c> value, or null when it can (QEMU itself judges the name).</summary>
    public static string? Problem(string model)
    {
        if (model.Length is 0 or > 200) return "wants 1 to 200 characters";
        return model.All(c => char.IsAsciiLetterOrDigit(c) || c is ',' or '-' or '+' or '_' or '.' or '=')
            ? null
            : "wants a QEMU CPU model and its features: letters, digits and , - + _ . = (e.g. max,-erms)";
    }
}
