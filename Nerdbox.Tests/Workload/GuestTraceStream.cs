using Grpc.Core;
using Nerdbox.Api.Traces.V1;
using Nerdbox.Testing;

namespace Nerdbox.Tests.Workload;

/// <summary>The agent's trace stream read in the background, every batch kept, for tests to wait on.</summary>
internal sealed class GuestTraceStream : IAsyncDisposable
{
    private readonly List<SpanBatch> _batches = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;

    public GuestTraceStream(HostAgent agent)
    {
        var call = agent.Client.Traces.Stream(new StreamRequest(), cancellationToken: _stop.Token);
        _reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var batch in call.ResponseStream.ReadAllAsync(_stop.Token))
                    lock (_batches) _batches.Add(batch);
            }
            catch (Exception e) when (e is OperationCanceledException || (e is RpcException && _stop.IsCancellationRequested)) { /* stopped by the test */ }
            finally { call.Dispose(); }
        });
    }

    public List<SpanBatch> Batches
    {
        get { lock (_batches) return [.. _batches]; }
    }

    public IEnumerable<WorkloadSpans> WorkloadSpans => Batches.SelectMany(b => b.WorkloadSpans);
    public IEnumerable<WorkloadLogs> WorkloadLogs => Batches.SelectMany(b => b.WorkloadLogs);

    public IEnumerable<(string Container, OpenTelemetry.Proto.Trace.V1.Span Span)> WorkloadSpansByContainer =>
        WorkloadSpans.SelectMany(w => w.ResourceSpans.ScopeSpans.SelectMany(s => s.Spans).Select(s => (w.ContainerId, s)));

    /// <summary>Waits until <paramref name="done"/> holds; a generous guard against a hang, not a timing assert.</summary>
    public async Task WaitUntilAsync(Func<GuestTraceStream, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!done(this))
        {
            if (_reading.IsCompleted) throw new InvalidOperationException($"the trace stream ended before {what}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {what} on the trace stream within 60 s");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _reading;
        _stop.Dispose();
    }
}
