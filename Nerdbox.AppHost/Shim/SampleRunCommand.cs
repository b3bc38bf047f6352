using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Nerdbox.AppHost.Jaeger;

namespace Nerdbox.AppHost.Shim;

/// <summary>
/// The dashboard command "Boot a sample VM": asks for the backend, CPUs and memory, posts them to the
/// shim's /samples/run, and returns the exit code, the boot phases and links to the trace as the
/// command's result (Markdown, shown when it completes). It sends the shim's work key (<see cref="ShimWorkKey"/>).
/// </summary>
public static class SampleRunCommand
{
    public const string Name = "boot-sample-vm";
    public const string SampleRunPath = "/samples/run";

    public const string BackendArgument = "backend";
    public const string CpusArgument = "cpus";
    public const string MemoryArgument = "memoryMib";

    /// <summary>The dashboard resource Aspire adds in run mode; its endpoint is the dashboard's URL.</summary>
    public const string DashboardResourceName = "aspire-dashboard";

    // The shim checks the same bounds (Nerdbox.Shim/Service/SampleRunRequest.cs) and answers 400 naming the field.
    public const int MinCpus = 1, MaxCpus = 16, DefaultCpus = 1;
    public const int MinMemoryMib = 128, MaxMemoryMib = 16384, DefaultMemoryMib = 512;
    public static readonly IReadOnlyList<string> Backends = [ShimParameters.Auto, "qemu", "libkrun"];

    public static IResourceBuilder<ProjectResource> WithSampleRunCommand(this IResourceBuilder<ProjectResource> shim,
        IResourceBuilder<ParameterResource> workKey, JaegerDeployment? jaeger = null) =>
        shim.WithCommand(Name, "Boot a sample VM", context => RunAsync(shim.Resource, workKey.Resource, jaeger?.Container?.Resource, context), new CommandOptions
        {
            Description = "Boots a microVM, runs the sample app (a busybox script that traces its own start-up) in it and shows its boot phases and trace",
            IconName = "Play",
            Arguments = Arguments(),
            ValidateArguments = Validate,
            UpdateState = c => c.ResourceSnapshot.HealthStatus == HealthStatus.Healthy ? ResourceCommandState.Enabled : ResourceCommandState.Disabled,
        });

    private static IReadOnlyList<InteractionInput> Arguments() =>
    [
        new() { Name = BackendArgument, Label = "Backend", InputType = InputType.Choice, Value = ShimParameters.Auto,
            Description = "auto takes the shim's backend (the AppHost's backend parameter)",
            Options = [.. Backends.Select(b => KeyValuePair.Create(b, b))] },
        new() { Name = CpusArgument, Label = "CPUs", InputType = InputType.Number, Value = $"{DefaultCpus}", Description = $"{MinCpus} to {MaxCpus}" },
        new() { Name = MemoryArgument, Label = "Memory (MiB)", InputType = InputType.Number, Value = $"{DefaultMemoryMib}", Description = $"{MinMemoryMib} to {MaxMemoryMib}" },
    ];

    private static Task Validate(InputsDialogValidationContext context)
    {
        foreach (var (name, min, max) in new[] { (CpusArgument, MinCpus, MaxCpus), (MemoryArgument, MinMemoryMib, MaxMemoryMib) })
            if (!int.TryParse(context.Inputs[name].Value, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
                context.AddValidationError(name, $"a whole number from {min} to {max}");
        return Task.CompletedTask;
    }

    private static async Task<ExecuteCommandResult> RunAsync(ProjectResource shim, ParameterResource workKey, JaegerResource? jaeger, ExecuteCommandContext context)
    {
        // Arguments left out (an API client may send none) take the dialog's defaults; the shim has the last word on bounds.
        var body = new Dictionary<string, object?>
        {
            [BackendArgument] = Argument(context, BackendArgument) ?? ShimParameters.Auto,
            [CpusArgument] = Number(context, CpusArgument) ?? DefaultCpus,
            [MemoryArgument] = Number(context, MemoryArgument) ?? DefaultMemoryMib,
        };
        var logger = context.Services.GetRequiredService<ResourceLoggerService>().GetLogger(shim);
        using var http = new HttpClient { BaseAddress = new Uri(shim.GetEndpoint(ShimResourceBuilderExtensions.HttpEndpointName).Url), Timeout = TimeSpan.FromMinutes(3) };
        http.DefaultRequestHeaders.Authorization = new(ShimWorkKey.Scheme, await workKey.GetValueAsync(context.CancellationToken));
        var response = await http.PostAsJsonAsync(SampleRunPath, body, context.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(context.CancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var why = SampleRunResult.Problem(text);
            logger.LogError("sample VM failed: {Why}", why);
            return CommandResults.Failure($"the sample VM failed: {why}");
        }
        var result = SampleRunResult.Parse(text);
        var links = new List<(string, string)>();
        if (DashboardUrl(context.Services) is { } dashboard) links.Add(("dashboard", $"{dashboard.TrimEnd('/')}/traces/detail/{result.TraceId}"));
        if (jaeger is not null && jaeger.Ui.IsAllocated) links.Add(("Jaeger", $"{jaeger.Ui.Url}/trace/{result.TraceId}"));
        logger.LogInformation("sample VM done (exit {Exit}); trace {TraceId}: {Links}", result.ExitStatus, result.TraceId,
            string.Join(", ", links.Select(l => l.Item2)));
        return CommandResults.Success($"sample VM exited with {result.ExitStatus}; trace {result.TraceId}",
            new CommandResultData { Value = result.ToMarkdown(links), Format = CommandResultFormat.Markdown, DisplayImmediately = true });
    }

    private static string? Argument(ExecuteCommandContext context, string name) =>
        context.Arguments is { } args && args.ContainsName(name) && args.GetString(name) is { Length: > 0 } v ? v : null;

    /// <summary>A number as given; one that is not a whole number is sent as text, for the shim to refuse by name.</summary>
    private static object? Number(ExecuteCommandContext context, string name) =>
        Argument(context, name) is not { } v ? null : int.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : v;

    /// <summary>The dashboard's own URL, from its resource's endpoint (null when it does not run, as under tests without it).</summary>
    public static string? DashboardUrl(IServiceProvider services) =>
        services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<IResourceWithEndpoints>()
            .FirstOrDefault(r => r.Name == DashboardResourceName)?.GetEndpoints()
            .Where(e => e.IsAllocated && e.EndpointName is "https" or "http")
            .OrderBy(e => e.EndpointName == "https" ? 0 : 1).FirstOrDefault()?.Url;
}
