namespace Nerdbox.Api.Contract;

/// <summary>
/// What the host and the guest agree on about a bundle in the guest: where its root file system is mounted, and the
/// ports of the OTLP endpoint each container is given on its own loopback.
/// </summary>
public static class GuestBundleLayout
{
    /// <summary>The directory under the guest's bundle directory where the rootfs is mounted; the config's root.path.</summary>
    public const string RootfsDirectory = "rootfs";

    /// <summary>
    /// Where a rootfs that comes in the initramfs lands in the guest (the host's archive holds it under this path, less its
    /// leading slash); the agent mounts it, under an overlay, as the bundle's <see cref="RootfsDirectory"/>.
    /// </summary>
    public const string InitramfsRootfs = "/nerdbox/rootfs";

    /// <summary>The container's OTLP/gRPC port on its loopback.</summary>
    public const int WorkloadGrpcPort = 4317;

    /// <summary>The container's OTLP/HTTP port on its loopback.</summary>
    public const int WorkloadHttpPort = 4318;

    /// <summary>A container's endpoint as spans say it, on the host (what it was given) and in the guest (what was opened).</summary>
    public static readonly string WorkloadEndpointDescription = $"grpc 127.0.0.1:{WorkloadGrpcPort}, http 127.0.0.1:{WorkloadHttpPort}";
}
