namespace Nerdbox.Engine.Vm;

/// <summary>
/// Whether this host has hardware virtualisation. A /dev/kvm is not proof: under nested PVM
/// (module kvm_pvm, no vmx/svm flag) it opens and creates VMs, yet a stock kernel hangs or dies
/// in it. KVM counts only when backed by kvm_intel/kvm_amd or a vmx/svm CPU flag.
/// </summary>
public static class HostAccelerator
{
    public sealed record KvmStatus(bool Usable, string Reason);

    public static KvmStatus Kvm(string root = "/")
    {
        string P(string p) => Path.Combine(root, p.TrimStart('/'));
        if (!File.Exists(P("/dev/kvm")) && !Directory.Exists(P("/sys/module/kvm")))
            return new(false, "no /dev/kvm on this host");
        var hardware = Directory.Exists(P("/sys/module/kvm_intel")) || Directory.Exists(P("/sys/module/kvm_amd")) || CpuHasVirtFlag(P("/proc/cpuinfo"));
        if (!hardware)
        {
            var pvm = Directory.Exists(P("/sys/module/kvm_pvm"));
            return new(false, pvm
                ? "/dev/kvm is nested PVM (kvm_pvm, no vmx/svm): guests hang or fail under it, so it is not used"
                : "/dev/kvm is not backed by hardware virtualisation (no kvm_intel/kvm_amd, no vmx/svm flag)");
        }
        try
        {
            using var f = new FileStream(P("/dev/kvm"), FileMode.Open, FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(false, $"/dev/kvm cannot be opened: {e.Message}");
        }
        return new(true, "hardware KVM");
    }

    private static bool CpuHasVirtFlag(string cpuinfo)
    {
        try
        {
            foreach (var line in File.ReadLines(cpuinfo))
                if (line.StartsWith("flags", StringComparison.Ordinal))
                    return line.Split(' ').Any(f => f is "vmx" or "svm");
        }
        catch (IOException) { }
        return false;
    }

    /// <summary>The host's TSC frequency in kHz, which keeps the guest from calibrating it (a hang under TCG).</summary>
    public static long? TscKhz()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("cpu MHz", StringComparison.Ordinal) &&
                    double.TryParse(line[(line.IndexOf(':') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture, out var mhz))
                    return (long)(mhz * 1000);
        }
        catch (IOException) { }
        return null;
    }

    public static bool HasVhostVsock() => File.Exists("/dev/vhost-vsock");
}
