using Grpc.Core;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>One call on the agent's server: its one request message read under a bound, its answers written as frames.</summary>
internal sealed class GrpcCall(GrpcCallContext context, int maxMessageBytes)
{
    public GrpcCallContext Context => context;

    /// <summary>The call's only request message; framing faults and oversize are the call's status, naming what was wrong.</summary>
    public async Task<T> ReadRequestAsync<T>(Marshaller<T> marshaller)
    {
        var body = await GrpcWire.ReadSingleMessageAsync(context.Http.Request, maxMessageBytes, context.CancellationToken);
        switch (body.Fault)
        {
            case GrpcWire.BodyFault.TooLarge:
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the request message is larger than {maxMessageBytes} bytes"));
            case GrpcWire.BodyFault.NoMessage:
                throw new RpcException(new Status(StatusCode.Internal, "the call carries no request message"));
            case GrpcWire.BodyFault.NotOneMessage:
                throw new RpcException(new Status(StatusCode.Internal, "the call must carry exactly one request message"));
        }
        if (body.Flag != 0)
            throw new RpcException(new Status(StatusCode.Unimplemented, $"message flag {body.Flag}: the agent takes uncompressed messages only"));
        try
        {
            return GrpcPayload.Read(marshaller, body.Message);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.Internal, "the request message does not decode: " + e.Message));
        }
    }

    /// <summary>Writes one response message and sends it at once (a stream's reader waits for each).</summary>
    public async Task WriteMessageAsync<T>(Marshaller<T> marshaller, T message)
    {
        var response = context.Http.Response;
        if (!response.HasStarted) response.ContentType = GrpcWire.ContentType;
        await response.BodyWriter.WriteAsync(GrpcPayload.Frame(marshaller, message), context.CancellationToken);
    }
}

/// <summary>A server-streaming method's answers, written one frame at a time.</summary>
internal sealed class GrpcResponseStream<T>(GrpcCall call, Marshaller<T> marshaller) : IServerStreamWriter<T>
{
    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message) => call.WriteMessageAsync(marshaller, message);
}
