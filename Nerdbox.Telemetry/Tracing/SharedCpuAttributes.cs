namespace Nerdbox.Telemetry.Tracing;

/// <summary>
/// The attributes of a span whose one CPU also ran another span's work beside it (on a one-CPU guest, the kernel's
/// initramfs unpack beside its initcalls): written where such spans are made, read where the critical path is shown.
/// </summary>
public static class SharedCpuAttributes
{
    /// <summary>The name of the span that ran beside this one and so took part of its time.</summary>
    public const string With = "nerdbox.cpu.shared_with";

    /// <summary>How many ms of this span the one CPU was shared with that span.</summary>
    public const string Ms = "nerdbox.cpu.shared_ms";
}
