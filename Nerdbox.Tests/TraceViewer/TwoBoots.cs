using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using static Nerdbox.Tests.TraceViewer.Otlp;

namespace Nerdbox.Tests.TraceViewer;

/// <summary>
/// Two hand-made boot traces for the diff tests, as OTLP JSON files. B's boot is faster to boot and slower
/// to start; it ran on TCG with another guest image; each side has spans the other lacks.
/// </summary>
public sealed class TwoBoots : IDisposable
{
    public const string TraceA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    public const string TraceB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    private readonly string _dir = Directory.CreateTempSubdirectory("nerdbox-diff-").FullName;

    public TwoBoots()
    {
        FileA = Write("a.json", Batch(TraceA, "kvm", "img-1", "6.1.0-a",
            new S(1, null, "nerdbox.Run", 0, 400),
            new S(2, 1, "shim.VMBoot", 1, 300),
            new S(3, 2, "vm.Start", 2, 100),
            new S(4, 2, "vm.WaitForAgent", 100, 300),
            new S(5, 1, "cache.Check", 2, 3),
            new S(6, 1, "probe", 2.5, 3),
            new S(7, 1, "metrics.Flush", 10, 60),
            new S(8, 1, "task.Wait", 301, 320),
            new S(9, 1, "task.Wait", 321, 340),
            new S(10, 1, "old.Step", 341, 350),
            new S(11, 1, "shim.Start", 351, 399)));
        FileB = Write("b.json", Batch(TraceB, "tcg", "img-2", null,
            new S(1, null, "nerdbox.Run", 0, 350),
            new S(2, 1, "shim.VMBoot", 1, 200),
            new S(3, 2, "vm.Start", 2, 152),
            new S(4, 2, "vm.WaitForAgent", 152, 200),
            new S(5, 1, "cache.Check", 2, 4),
            new S(7, 1, "metrics.Flush", 10, 20),
            new S(8, 1, "task.Wait", 201, 230),
            new S(9, 1, "task.Wait", 231, 236),
            new S(10, 1, "task.Wait", 237, 240),
            new S(11, 1, "shim.Start", 241, 349),
            new S(12, 11, "new.Step", 250, 260),
            // Ends when B ends, right after shim.Start: on B's critical path, not on A's.
            new S(6, 1, "probe", 349, 349.5)));
    }

    public string FileA { get; }
    public string FileB { get; }

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>One trace's spans, with the environment split between a span (accelerator, backend, kernel) and the resource (image).</summary>
    private static TracesData Batch(string traceId, string accelerator, string image, string? kernel, params S[] spans)
    {
        var data = new TracesData();
        data.ResourceSpans.AddRange(Batches(spans.Select(s => s with { TraceId = traceId }).ToArray()));
        var resource = data.ResourceSpans.Single();
        resource.Resource.Attributes.Add(Attribute("nerdbox.image.id", image));
        var vmStart = resource.ScopeSpans.SelectMany(s => s.Spans).Single(s => s.Name == "vm.Start");
        vmStart.Attributes.Add(Attribute("nerdbox.vm.accelerator", accelerator));
        vmStart.Attributes.Add(Attribute("nerdbox.vm.backend", "qemu"));
        if (kernel is not null) vmStart.Attributes.Add(Attribute("nerdbox.guest.kernel", kernel));
        return data;
    }

    private static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private string Write(string name, TracesData data)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, JsonFormatter.Default.Format(data));
        return path;
    }
}
