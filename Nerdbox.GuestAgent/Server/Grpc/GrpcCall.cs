using Grpc.Core;
using Nerdbox.Http2;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>One call on the host channel: its one request message read under a bound, its answers written as frames.</summary>
internal sealed class GrpcCall(GrpcCallContext context, int maxMessageBytes)
{
    public GrpcCallContext Context => context;

    /// <summary>The call's only request message; framing faults and oversize are the call's status, naming what was wrong.</summary>
    public async Task<T> ReadRequestAsync<T>(Marshaller<T> marshaller)
    {
        var body = await context.Stream.ReadBodyAsync(context.CancellationToken);
        var message = GrpcWire.TakeSingleMessage(body.Bytes, maxMessageBytes);
        switch (message.Fault)
        {
            case GrpcWire.BodyFault.TooLarge:
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the request message is larger than {maxMessageBytes} bytes"));
            case GrpcWire.BodyFault.NoMessage:
                throw new RpcException(new Status(StatusCode.Internal, "the call carries no request message"));
            case GrpcWire.BodyFault.NotOneMessage:
                throw new RpcException(new Status(StatusCode.Internal, "the call must carry exactly one request message"));
        }
        if (message.Flag != 0)
            throw new RpcException(new Status(StatusCode.Unimplemented, $"message flag {message.Flag}: the agent takes uncompressed messages only"));
        try
        {
            return GrpcPayload.Read(marshaller, message.Message);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.Internal, "the request message does not decode: " + e.Message));
        }
    }

    /// <summary>
    /// Writes one response message. A stream's messages go out at once (its reader waits for each); a unary call's wait
    /// to leave in one write with the status that follows.
    /// </summary>
    public async Task WriteMessageAsync<T>(Marshaller<T> marshaller, T message, bool flush = true)
    {
        var stream = context.Stream;
        if (!stream.HeadersSent) await stream.SendHeadersAsync(200, GrpcWire.ResponseHeaders, context.CancellationToken, flush: false);
        await stream.SendDataAsync(GrpcPayload.Frame(marshaller, message), context.CancellationToken, flush);
    }
}

/// <summary>A server-streaming method's answers, written one frame at a time.</summary>
internal sealed class GrpcResponseStream<T>(GrpcCall call, Marshaller<T> marshaller) : IServerStreamWriter<T>
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message) => call.WriteMessageAsync(marshaller, message);
}
