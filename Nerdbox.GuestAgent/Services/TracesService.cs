using Grpc.Core;
using Nerdbox.Api.Traces.V1;
using Nerdbox.GuestAgent.Tracing;

namespace Nerdbox.GuestAgent.Services;

/// <summary>Streams the guest's buffered spans, and its workloads' spans and log records, to the host in batches.</summary>
internal sealed class TracesService : Traces.TracesBase
{
    public const int MaxBatchSpans = 512;
    private static int _streams;

    public override async Task Stream(StreamRequest request, IServerStreamWriter<SpanBatch> responseStream, ServerCallContext context)
    {
        // One reader: two would each get part of the spans.
        if (Interlocked.Exchange(ref _streams, 1) == 1)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "a trace stream is open already"));
        GuestTracing.StreamOpened.TrySetResult();
        try
        {
            var max = request.MaxBatchSpans is > 0 and <= MaxBatchSpans ? (int)request.MaxBatchSpans : MaxBatchSpans;
            while (!context.CancellationToken.IsCancellationRequested)
            {
                var batch = await GuestTracing.Buffer.TakeBatchAsync(max, context.CancellationToken);
                await responseStream.WriteAsync(batch);
            }
        }
        catch (OperationCanceledException) { /* the host went away */ }
        finally
        {
            Interlocked.Exchange(ref _streams, 0);
        }
    }

    public override Task<DrainResponse> Drain(DrainRequest request, ServerCallContext context)
    {
        var taken = GuestTracing.Buffer.Workloads.ItemsTaken;
        var stats = GuestTracing.Buffer.Stats();
        return Task.FromResult(new DrainResponse { SpansRecorded = stats.SpansRecorded, Stats = stats, WorkloadItemsTaken = taken });
    }
}
