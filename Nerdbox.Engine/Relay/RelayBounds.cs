using Nerdbox.Telemetry.Settings;

namespace Nerdbox.Engine.Relay;

/// <summary>
/// What the host accepts from a guest's span stream. The guest is untrusted: every count, size
/// and timestamp it sends is bounded here, and whatever is dropped or cut is counted. Its pace is
/// bounded too, by holding it back rather than by dropping.
/// </summary>
public sealed record RelayBounds
{
    /// <summary>Spans accepted from one VM over its life.</summary>
    public long MaxSpansPerVm { get; init; } = 2_000_000;

    /// <summary>
    /// Sustained spans per second, with a burst of the same size. Spans beyond it are not dropped: the
    /// relay reads the guest's stream no faster, and the guest's bounded buffer holds them.
    /// </summary>
    public double MaxSpansPerSecond { get; init; } = 500_000;

    public int MaxNameLength { get; init; } = 256;
    public int MaxAttributesPerSpan { get; init; } = 64;
    public int MaxAttributeKeyLength { get; init; } = 128;
    public int MaxAttributeValueLength { get; init; } = 4096;
    public int MaxArrayValues { get; init; } = 64;
    public int MaxEventsPerSpan { get; init; } = 32;
    public int MaxLinksPerSpan { get; init; } = 8;
    public int MaxAttributesPerEvent { get; init; } = 64;
    public int MaxAttributesPerLink { get; init; } = 64;
    public int MaxScopeNameLength { get; init; } = 128;

    /// <summary>Workload spans accepted from one VM over its life, apart from the agent's: a workload never uses up the boot's allowance.</summary>
    public long MaxWorkloadSpansPerVm { get; init; } = 2_000_000;

    /// <summary>Workload log records accepted from one VM over its life.</summary>
    public long MaxWorkloadLogsPerVm { get; init; } = 2_000_000;

    /// <summary>Containers whose telemetry is relayed and counted apart; the guest names them, so their number is bounded too.</summary>
    public int MaxWorkloadContainers { get; init; } = 64;

    public int MaxContainerIdLength { get; init; } = 128;

    /// <summary>Attributes of a workload's resource, at most (its keys and values are bounded as a span's are).</summary>
    public int MaxResourceAttributes { get; init; } = 64;

    /// <summary>Longest span accepted.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How far before the VM's start or after now a corrected span may lie.</summary>
    public TimeSpan TimestampSlack { get; init; } = TimeSpan.FromMinutes(1);

    public static readonly RelayBounds Default = new();

    /// <summary>
    /// These bounds tightened to the environment's span limits where they are stricter. The guest stays
    /// untrusted: a limit can narrow what the host accepts from it, never widen it.
    /// </summary>
    public RelayBounds Within(SpanLimits limits) => this with
    {
        MaxAttributesPerSpan = Min(MaxAttributesPerSpan, limits.AttributeCount),
        MaxAttributeValueLength = Min(MaxAttributeValueLength, limits.AttributeValueLength),
        MaxEventsPerSpan = Min(MaxEventsPerSpan, limits.EventCount),
        MaxLinksPerSpan = Min(MaxLinksPerSpan, limits.LinkCount),
        MaxAttributesPerEvent = Min(MaxAttributesPerEvent, limits.EventAttributeCount),
        MaxAttributesPerLink = Min(MaxAttributesPerLink, limits.LinkAttributeCount),
    };

    private static int Min(int bound, int? limit) => limit is { } l && l < bound ? l : bound;
}
