using Microsoft.Extensions.Configuration;
using Nerdbox.Shim.Service;

namespace Nerdbox.Tests.Service;

/// <summary>How many sample runs may boot at once: one more than the setting is refused, not queued, and a slot given back is free again.</summary>
public sealed class WorkSlotsTests
{
    [Fact]
    public void One_more_than_the_limit_is_refused_until_a_slot_is_given_back()
    {
        using var slots = WorkSlots.From(Config(("Nerdbox:Http:MaxConcurrentSampleRuns", "2")));
        using var a = slots.TryTake();
        using var b = slots.TryTake();
        Assert.True(a.IsAcquired && b.IsAcquired);
        using (var c = slots.TryTake()) Assert.False(c.IsAcquired);
        a.Dispose();
        using var d = slots.TryTake();
        Assert.True(d.IsAcquired);
    }

    [Fact]
    public void The_default_is_two_and_a_bad_setting_is_named()
    {
        using var slots = WorkSlots.From(Config());
        Assert.Equal(WorkSlots.DefaultMax, slots.Max);
        var e = Assert.Throws<ArgumentException>(() => WorkSlots.From(Config(("Nerdbox:Http:MaxConcurrentSampleRuns", "0"))));
        Assert.Contains("Nerdbox:Http:MaxConcurrentSampleRuns must be a whole number of 1 or more, not '0'", e.Message);
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
