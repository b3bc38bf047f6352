using Nerdbox.Engine.Vm;

namespace Nerdbox.Tests.Reliability;

/// <summary>The acceptance's bound on a VMM outliving its shim: polled, never slept through.</summary>
internal static class VmmAbsence
{
    /// <summary>How long a VMM may outlive the shim that was killed.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(2);

    /// <summary>Fails, naming them, when any of <paramref name="pids"/> still runs <see cref="Bound"/> after the call.</summary>
    public static async Task AssertGoneAsync(IReadOnlyCollection<int> pids, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (true)
        {
            var running = pids.Where(ProcessIdentity.IsRunning).ToList();
            if (running.Count == 0) return;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"{what}: still running {Bound.TotalSeconds:0} s later: " +
                    string.Join("; ", running.Select(p => $"{p} {ProcessIdentity.CommandLine(p)[..Math.Min(120, ProcessIdentity.CommandLine(p).Length)]}")));
            await Task.Delay(20);
        }
    }
}
