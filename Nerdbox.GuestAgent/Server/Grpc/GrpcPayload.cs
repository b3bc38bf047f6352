using System.Buffers;
using Grpc.Core;

namespace Nerdbox.GuestAgent.Server.Grpc;

/// <summary>Messages to and from frames through the generated marshallers, which are contextual only.</summary>
internal static class GrpcPayload
{
    public static T Read<T>(Marshaller<T> marshaller, ReadOnlyMemory<byte> payload) =>
        marshaller.ContextualDeserializer(new Incoming(payload));

    /// <summary>The message as one frame, prefix included.</summary>
    public static byte[] Frame<T>(Marshaller<T> marshaller, T message)
    {
        var outgoing = new Outgoing();
        marshaller.ContextualSerializer(message, outgoing);
        return outgoing.Frame ?? throw new InvalidOperationException($"the marshaller of {typeof(T).Name} wrote no message");
    }

    private sealed class Incoming(ReadOnlyMemory<byte> payload) : DeserializationContext
    {
        public override int PayloadLength => payload.Length;
        public override byte[] PayloadAsNewBuffer() => payload.ToArray();
        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
    }

    private sealed class Outgoing : SerializationContext
    {
        private ArrayBufferWriter<byte>? _writer;

        public byte[]? Frame { get; private set; }

        public override void Complete(byte[] payload) => Frame = GrpcWire.Frame(payload);

        public override IBufferWriter<byte> GetBufferWriter() => _writer ??= new ArrayBufferWriter<byte>();

        public override void SetPayloadLength(int payloadLength) => _writer ??= new ArrayBufferWriter<byte>(Math.Max(payloadLength, 1));

        public override void Complete() => Frame = GrpcWire.Frame(_writer is null ? [] : _writer.WrittenSpan);
    }
}
