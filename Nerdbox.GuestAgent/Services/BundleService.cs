using Grpc.Core;
using Nerdbox.Api.Bundle.V1;
using Nerdbox.GuestAgent.Bundles;
using Nerdbox.GuestAgent.Tracing;

namespace Nerdbox.GuestAgent.Services;

/// <summary>Receives a bundle's files from the host and mounts its rootfs (a disk, or what the initramfs brought).</summary>
internal sealed class BundleService(BundleStore bundles) : Api.Bundle.V1.Bundle.BundleBase
{
    public override Task<CreateBundleResponse> Create(CreateBundleRequest request, ServerCallContext context)
    {
        using var span = GuestTracing.Source.StartActivity("bundle.Create");
        span?.SetTag("nerdbox.bundle.id", request.Id);
        span?.SetTag("nerdbox.bundle.files", request.Files.Count);
        try
        {
            var files = request.Files.ToDictionary(kv => kv.Key, kv => kv.Value.ToByteArray());
            var path = bundles.Create(request.Id, files, request.Rootfs?.Serial, request.Rootfs?.Fstype ?? "erofs", request.RootfsInInitramfs);
            return Task.FromResult(new CreateBundleResponse { BundlePath = path });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException)
        {
            GuestTracing.RecordError(span, e);
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
    }
}
