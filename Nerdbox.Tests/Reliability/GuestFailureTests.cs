using System.Diagnostics;
using Nerdbox.Engine.Tasks;
using Nerdbox.Engine.Vm;
using Nerdbox.Telemetry;
using Nerdbox.Tests.Fixture;
using Nerdbox.Tests.Infrastructure;
using OpenTelemetry.Proto.Trace.V1;

namespace Nerdbox.Tests.Reliability;

/// <summary>
/// A guest that dies mid-task, for real (see <see cref="CrashBundles"/>): <c>wait</c> fails with an error
/// that names what happened, above the console's tail; the trace's open spans all end, with error
/// status; nothing is left behind.
/// </summary>
[Collection(nameof(Vm.VmCollection))]
public sealed class GuestFailureTests(GuestImageFixture fixture)
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task A_kernel_panic_ends_wait_with_the_panic_named_and_a_trace_of_error_spans()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var bundle = await CrashBundles.KernelPanicAsync(scratch);

        var (error, spans) = await RunToFailureAsync(scratch, "panic", bundle);

        Assert.StartsWith("the VM stopped while task 'panic' was running: the guest kernel panicked: sysrq triggered crash\n", error.Message);
        Assert.DoesNotContain("agent (init) died", error.Message);
        Assert.Contains("--- console (last lines) ---", error.Message);
        Assert.Contains("Kernel panic - not syncing: sysrq triggered crash", error.Message);
        AssertErrorSpans(spans, "the guest kernel panicked: sysrq triggered crash");
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task An_agent_crash_ends_wait_with_the_agents_death_named_and_a_trace_of_error_spans()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var bundle = await CrashBundles.AgentCrashAsync(scratch);

        var (error, spans) = await RunToFailureAsync(scratch, "agent-crash", bundle);

        Assert.StartsWith("the VM stopped while task 'agent-crash' was running: the guest agent (init) died: it was killed by signal 11 (SIGSEGV)", error.Message);
        Assert.DoesNotContain("the guest kernel panicked", error.Message);
        Assert.Contains("--- console (last lines) ---", error.Message);
        Assert.Contains("Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b", error.Message);
        AssertErrorSpans(spans, "the guest agent (init) died: it was killed by signal 11 (SIGSEGV)");
        scratch.AssertNothingLeft();
    }

    [Fact]
    public async Task A_create_the_guest_does_not_finish_fails_in_its_time_with_the_call_named()
    {
        await using var scratch = new Nerdbox.Testing.VmScratch();
        var bundle = await CrashBundles.StuckCreateAsync(scratch);
        var options = await scratch.OptionsAsync(fixture, BootTimeout) with { TaskCallTimeout = TimeSpan.FromSeconds(5) };
        var output = new System.Text.StringBuilder();

        var error = await Assert.ThrowsAsync<VmException>(() =>
            TaskRun.RunAsync("stuck-create", bundle, options, (_, data) => { lock (output) output.Append(System.Text.Encoding.UTF8.GetString(data.Span)); }));

        Assert.StartsWith("the guest agent did not finish the create of task 'stuck-create' within 5 s\n", error.Message);
        Assert.Contains("--- console (last lines) ---", error.Message);
        Assert.Contains("nerdbox-agent: listening on", error.Message);
        lock (output) Assert.DoesNotContain("the create finished", output.ToString());
        scratch.AssertNothingLeft();
    }

    /// <summary>Runs the bundle as <c>run</c> does (<see cref="TaskRun"/>), traced into a real OTLP receiver; returns the error and the run's spans.</summary>
    private async Task<(VmException Error, IReadOnlyList<OpenTelemetry.Proto.Trace.V1.Span> Spans)> RunToFailureAsync(
        Nerdbox.Testing.VmScratch scratch, string id, string bundle)
    {
        await using var traced = await TracedRun.StartAsync();
        var traceId = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var roots = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ShimTracing.SourceName,
            ActivityStarted = a => { if (a.DisplayName == "shim.Run" && a.Parent is null) traceId.TrySetResult(a.TraceId.ToString()); },
        };
        ActivitySource.AddActivityListener(roots);
        var options = await scratch.OptionsAsync(fixture, BootTimeout) with { GuestSpanSink = traced.Sinks };
        var output = new System.Text.StringBuilder();

        var error = await Assert.ThrowsAsync<VmException>(() =>
            TaskRun.RunAsync(id, bundle, options, (_, data) => { lock (output) output.Append(System.Text.Encoding.UTF8.GetString(data.Span)); }));

        // The container's first line may or may not leave the guest before it goes down; that the run got as far
        // as the container is shown by the start's span (AssertErrorSpans). What it must never print is that it survived.
        lock (output) Assert.DoesNotContain("survived", output.ToString());
        var trace = await traceId.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var spans = await traced.CollectAsync(trace, s => s.Any(x => x.Span.Name == "shim.Run") && s.Any(x => x.Span.Name == "shim.Wait"));
        // Every host span that started has ended, the failed ones included.
        Assert.Equal(0, traced.OpenHostSpans(trace));
        return (error, spans.Where(s => s.ServiceName == ShimTracing.ServiceName).Select(s => s.Span).ToList());
    }

    private static void AssertErrorSpans(IReadOnlyList<OpenTelemetry.Proto.Trace.V1.Span> spans, string cause)
    {
        foreach (var name in new[] { "shim.Run", "shim.Wait" })
        {
            var span = Assert.Single(spans, s => s.Name == name);
            Assert.Equal(Status.Types.StatusCode.Error, span.Status.Code);
            Assert.Contains(cause, span.Status.Message);
            Assert.True(span.EndTimeUnixNano >= span.StartTimeUnixNano && span.StartTimeUnixNano > 0, name);
        }
        // The run got as far as the container: the boot's spans ended well.
        foreach (var name in new[] { "shim.VMBoot", "shim.TaskCreate", "shim.Start" })
            Assert.NotEqual(Status.Types.StatusCode.Error, Assert.Single(spans, s => s.Name == name).Status?.Code ?? Status.Types.StatusCode.Unset);
    }
}
