using System.Text.Json;
using Nerdbox.Engine.Vm.Libkrun;

namespace Nerdbox.Fuzz.Harnesses;

/// <summary>
/// What a libkrun helper writes on stdout, read line by line as the shim reads it: each line decoded
/// with the protocol's own JSON context into a <see cref="HelperEvent"/>. A line that is not an event
/// may only raise <see cref="JsonException"/> (the shim keeps it as the helper's output).
/// </summary>
internal sealed class HelperLinesHarness : IFuzzHarness
{
    public string Name => "helper-lines";
    public string Input => "a libkrun helper's stdout (one JSON event a line)";

    public void Run(byte[] input)
    {
        using var reader = new StreamReader(new MemoryStream(input));
        while (reader.ReadLine() is { } line)
        {
            HelperEvent? e;
            try
            {
                e = JsonSerializer.Deserialize(line, HelperJsonContext.Default.HelperEvent);
            }
            catch (JsonException x) when (x.Message.Length > 0)
            {
                continue;
            }
            _ = e?.Event switch
            {
                HelperProtocol.Configured or HelperProtocol.Starting => e.Event,
                HelperProtocol.Error => e.Message ?? "unknown error",
                _ => line,
            };
        }
    }
}
