using System.Text.Json;
using Nerdbox.Engine.Vm;

namespace Nerdbox.Shim.Service;

/// <summary>
/// The optional JSON body of POST /samples/run: the VM's backend, CPUs and memory. A field left out
/// takes the shim's setting; a value out of bounds is refused with the field's name.
/// </summary>
public sealed record SampleRunRequest(string? Backend = null, int? Cpus = null, int? MemoryMib = null)
{
    public const int MinCpus = 1, MaxCpus = 16;
    public const int MinMemoryMib = 128, MaxMemoryMib = 16384;
    public static readonly IReadOnlyList<string> Backends = [VmShape.Auto, "qemu", "libkrun"];

    /// <summary>The request in <paramref name="http"/>'s body (none is all defaults), or the problems keyed by field.</summary>
    public static async Task<(SampleRunRequest? Request, Dictionary<string, string[]>? Problems)> ReadAsync(HttpRequest http, CancellationToken ct)
    {
        using var body = new StreamReader(http.Body);
        var text = await body.ReadToEndAsync(ct);
        if (string.IsNullOrWhiteSpace(text)) return (new SampleRunRequest(), null);
        SampleRunRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(text, ServiceJson.Default.SampleRunRequest);
        }
        catch (JsonException e)
        {
            // The path names the field whose value did not parse ($.cpus), or the whole body ($).
            var field = e.Path is { Length: > 2 } p && p.StartsWith("$.") ? p[2..] : "body";
            return (null, new() { [field] = [$"not valid JSON for {field}: {e.Message.Split(" Path:")[0]}"] });
        }
        if (request is null) return (null, new() { ["body"] = ["want a JSON object"] });
        var problems = request.Problems();
        return problems.Count == 0 ? (request, null) : (null, problems);
    }

    public Dictionary<string, string[]> Problems()
    {
        var problems = new Dictionary<string, string[]>();
        if (Backend is not null && !Backends.Contains(Backend))
            problems["backend"] = [$"'{Backend}' is not a backend: use {string.Join(", ", Backends)}"];
        if (Cpus is < MinCpus or > MaxCpus)
            problems["cpus"] = [$"{Cpus} CPUs is out of bounds: {MinCpus} to {MaxCpus}"];
        if (MemoryMib is < MinMemoryMib or > MaxMemoryMib)
            problems["memoryMib"] = [$"{MemoryMib} MiB is out of bounds: {MinMemoryMib} to {MaxMemoryMib}"];
        return problems;
    }
}
