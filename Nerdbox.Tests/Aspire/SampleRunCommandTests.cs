using System.Net;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Nerdbox.AppHost.Jaeger;
using Nerdbox.AppHost.Shim;

namespace Nerdbox.Tests.Aspire;

/// <summary>The dashboard's "Boot a sample VM" command, run through Aspire's command service as the dashboard runs it.</summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class SampleRunCommandTests(AppHostFixture app) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await app.StartAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Task<ExecuteCommandResult> RunAsync(params (string Name, string Value)[] arguments) =>
        app.App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync("shim", SampleRunCommand.Name,
            new InteractionInputCollection([.. arguments.Select(a => new InteractionInput { Name = a.Name, InputType = InputType.Text, Value = a.Value })]),
            TestContext.Current.CancellationToken);

    [Fact]
    public async Task The_command_boots_a_VM_of_the_given_shape_and_returns_exit_code_phases_and_trace_link()
    {
        var result = await RunAsync((SampleRunCommand.BackendArgument, "auto"), (SampleRunCommand.CpusArgument, "2"), (SampleRunCommand.MemoryArgument, "384"));

        Assert.True(result.Success, result.Message);
        var data = Assert.IsType<CommandResultData>(result.Data);
        Assert.Equal(CommandResultFormat.Markdown, data.Format);
        Assert.Contains("**exit code 0**", data.Value);
        Assert.Contains("· 2 CPU · 384 MiB", data.Value);
        foreach (var phase in new[] { "VMM start", "guest entry", "kernel to /init", "agent ready", "first RPC", "container started", "first output", "boot to output" })
            Assert.Contains($"| {phase} |", data.Value);
        // The sample app's spans came back through the relay: boot to app ready is a figure, not a dash.
        Assert.Matches(@"\| boot to app ready \| \| \d+ \|", data.Value);
        Assert.Contains("hello from a nerdbox sample VM", data.Value);
        var traceId = System.Text.RegularExpressions.Regex.Match(result.Message ?? "", "trace ([0-9a-f]{32})").Groups[1].Value;
        Assert.Matches("^[0-9a-f]{32}$", traceId);
        // The link is the dashboard's own, found from its resource (not guessed from the AppHost's URLs).
        Assert.Contains($"[dashboard]({app.DashboardUrl.ToString().TrimEnd('/')}/traces/detail/{traceId})", data.Value);
    }

    [Fact]
    public async Task The_command_refuses_out_of_bounds_arguments_without_booting()
    {
        // Aspire checks them against the command's own validation first (the dashboard shows each error by its input).
        var result = await RunAsync((SampleRunCommand.CpusArgument, "64"), (SampleRunCommand.MemoryArgument, "64"));
        Assert.False(result.Success);
        Assert.Contains("validation failed", result.Message);
    }

    [Fact]
    public async Task A_backend_this_host_cannot_run_fails_with_the_shims_reason_naming_the_field()
    {
        var libkrun = Nerdbox.Engine.Vm.BackendSelector.All().Single(b => b.Name == "libkrun").Check();
        if (libkrun.Usable) Assert.Skip("libkrun runs here");
        var result = await RunAsync((SampleRunCommand.BackendArgument, "libkrun"));
        Assert.False(result.Success);
        Assert.Contains("backend: ", result.Message);
        Assert.Contains("libkrun", result.Message);
    }

    [Fact]
    public async Task The_sample_endpoint_answers_400_naming_each_bad_field()
    {
        using var shim = app.ShimClient();
        foreach (var (body, field) in new[]
        {
            ("""{"backend":"xen"}""", "backend"), ("""{"cpus":0}""", "cpus"), ("""{"cpus":17}""", "cpus"),
            ("""{"memoryMib":127}""", "memoryMib"), ("""{"memoryMib":16385}""", "memoryMib"), ("""{"cpus":"two"}""", "cpus"),
        })
        {
            var response = await shim.PostAsync(SampleRunCommand.SampleRunPath, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{body}: {response.StatusCode} {text}");
            Assert.True(JsonDocument.Parse(text).RootElement.GetProperty("errors").TryGetProperty(field, out _), $"{body}: {text}");
        }
    }

    [Fact]
    public async Task The_sample_endpoint_refuses_a_request_without_the_AppHosts_work_key_even_from_loopback()
    {
        using var shim = app.App.CreateHttpClient("shim", ShimResourceBuilderExtensions.HttpEndpointName);
        var ct = TestContext.Current.CancellationToken;
        var none = await shim.PostAsync(SampleRunCommand.SampleRunPath, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Contains("work key", await none.Content.ReadAsStringAsync(ct));
        shim.DefaultRequestHeaders.Authorization = new(ShimWorkKey.Scheme, app.WorkKey + "x");
        var wrong = await shim.PostAsync(SampleRunCommand.SampleRunPath, new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("the work key is wrong", await wrong.Content.ReadAsStringAsync(ct));
    }

    [Fact]
    public void The_backend_and_accelerator_parameters_reach_the_shims_settings()
    {
        Assert.True(app.App.ResourceNotifications.TryGetCurrentState("shim", out var shim));
        var env = shim!.Snapshot.EnvironmentVariables.ToDictionary(v => v.Name, v => v.Value);
        Assert.Equal("auto", env[ShimParameters.BackendEnvironment]);
        Assert.Equal("auto", env[ShimParameters.AcceleratorEnvironment]);
        Assert.True(app.WorkKey.Length >= 32, "the AppHost generates a work key of 32 characters or more");
        Assert.True(env.ContainsKey(ShimWorkKey.Environment), "the shim gets the work key");
    }

    [Fact]
    public async Task With_Jaeger_running_the_result_links_the_trace_in_Jaeger_too()
    {
        var runtime = ContainerRuntimeProbe.Probe();
        if (!runtime.Available) Assert.Skip($"Jaeger: {runtime.Reason}");
        await app.App.ResourceNotifications.WaitForResourceAsync("jaeger", KnownResourceStates.Running).WaitAsync(TimeSpan.FromMinutes(5));
        var result = await RunAsync();
        Assert.True(result.Success, result.Message);
        Assert.Contains("[Jaeger](", result.Data!.Value);
    }
}
