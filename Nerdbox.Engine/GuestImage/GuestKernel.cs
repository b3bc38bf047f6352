namespace Nerdbox.Engine.GuestImage;

/// <summary>The guest kernels a VM can boot: Debian's cloud kernel (the image's own) or the <see cref="MinimalKernel"/>.</summary>
public static class GuestKernel
{
    public const string Debian = "debian";
    public const string Minimal = "minimal";

    public static readonly IReadOnlyList<string> All = [Debian, Minimal];
}
