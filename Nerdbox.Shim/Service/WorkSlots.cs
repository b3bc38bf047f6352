using System.Threading.RateLimiting;

namespace Nerdbox.Shim.Service;

/// <summary>
/// How many sample runs may boot at once (<c>Nerdbox:Http:MaxConcurrentSampleRuns</c>, default 2): a
/// caller with the key still cannot make the host boot VMs without end. One more is refused with 429,
/// not queued. The task API is not limited here: only the socket's owner can reach it.
/// </summary>
public sealed class WorkSlots : IDisposable
{
    public const string ConfigKey = "Nerdbox:Http:MaxConcurrentSampleRuns";
    public const int DefaultMax = 2;

    private readonly ConcurrencyLimiter _limiter;

    public WorkSlots(int max)
    {
        Max = max;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = max, QueueLimit = 0 });
    }

    public int Max { get; }

    public static WorkSlots From(IConfiguration config)
    {
        var value = config[ConfigKey];
        if (value is not { Length: > 0 }) return new(DefaultMax);
        return int.TryParse(value, out var n) && n > 0
            ? new(n)
            : throw new ArgumentException($"{ConfigKey} must be a whole number of 1 or more, not '{value}'");
    }

    /// <summary>A slot, or an unacquired lease when all are taken.</summary>
    public RateLimitLease TryTake() => _limiter.AttemptAcquire();

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Puts <see cref="WorkSlots"/> in front of an endpoint that boots a VM (after the key check).</summary>
public static class WorkSlotEndpoints
{
    public static RouteHandlerBuilder RequireWorkSlot(this RouteHandlerBuilder endpoint) => endpoint.AddEndpointFilter(async (context, next) =>
    {
        var slots = context.HttpContext.RequestServices.GetRequiredService<WorkSlots>();
        using var lease = slots.TryTake();
        if (!lease.IsAcquired)
            return Results.Problem($"{slots.Max} sample run(s) are already booting, the most at once ({WorkSlots.ConfigKey}); try again when one is done",
                statusCode: StatusCodes.Status429TooManyRequests);
        return await next(context);
    });
}
