using Nerdbox.Engine.Clock;
using Nerdbox.Engine.Relay;
using Nerdbox.Telemetry.Otlp;
using Nerdbox.Telemetry.Sinks;
using Nerdbox.Testing;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// What the relay benchmarks (<c>bench relay</c>, <c>bench workload</c>) measure through: the guest agent as a host
/// process, the shim's <see cref="GuestSpanRelay"/> reading its trace stream with a zero clock offset, a real
/// <see cref="OtlpGrpcSink"/>, and a local OTLP receiver that counts what arrives. The relay is not started yet.
/// </summary>
internal sealed class RelayPipeline(HostAgent agent, OtlpReceiver receiver, SpanSinkSet sinks, GuestSpanRelay relay) : IAsyncDisposable
{
    public HostAgent Agent => agent;
    public OtlpReceiver Receiver => receiver;
    public SpanSinkSet Sinks => sinks;
    public GuestSpanRelay Relay => relay;

    /// <param name="name">the run's <c>service.instance.id</c> (and, with <paramref name="workloads"/>, its VM id)</param>
    /// <param name="workloads">whether the relay names the VM that workload batches come from</param>
    public static async Task<RelayPipeline> StartAsync(string agentDll, string[] agentArgs, string name, bool workloads = false, SinkOptions? sinkOptions = null)
    {
        var agent = await HostAgent.StartAsync(agentDll, agentArgs, TimeSpan.FromSeconds(30));
        OtlpReceiver? receiver = null;
        try
        {
            receiver = await OtlpReceiver.StartAsync(keepSpans: false);
            var sinks = new SpanSinkSet([new OtlpGrpcSink(new OtlpDestination("bench-receiver", OtlpProtocol.Grpc, receiver.GrpcEndpoint), options: sinkOptions)]);
            var now = DateTime.UtcNow;
            var relay = new GuestSpanRelay(agent.Client.Traces, new ClockEstimate(0, 0, now, 0, 1), sinks, RelayBounds.Default,
                now.AddMinutes(-1), new Dictionary<string, string> { ["service.instance.id"] = name },
                workloads ? new Dictionary<string, string> { ["nerdbox.vm.id"] = name } : null);
            return new RelayPipeline(agent, receiver, sinks, relay);
        }
        catch
        {
            if (receiver is not null) await receiver.DisposeAsync();
            await agent.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Relay.DisposeAsync();
        await Sinks.DisposeAsync();
        await Receiver.DisposeAsync();
        await Agent.DisposeAsync();
    }
}
