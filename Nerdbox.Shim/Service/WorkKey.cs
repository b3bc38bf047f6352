using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Nerdbox.Shim.Service;

/// <summary>
/// The key that HTTP requests which start work (the sample run boots a VM) must carry, as
/// <c>Authorization: Bearer KEY</c>. The rule: when a key is configured (<c>Nerdbox:Http:WorkKey</c>,
/// env <c>Nerdbox__Http__WorkKey</c>), every such request needs it, loopback included; when none is,
/// only loopback callers may start work and any other is refused. Health stays open: it starts nothing.
/// </summary>
public sealed class WorkKey
{
    public const string ConfigKey = "Nerdbox:Http:WorkKey";
    public const string Scheme = "Bearer";

    private readonly byte[]? _hash;

    public WorkKey(string? key) => _hash = key is { Length: > 0 } ? SHA256.HashData(Encoding.UTF8.GetBytes(key)) : null;

    public static WorkKey From(IConfiguration config) => new(config[ConfigKey]);

    public bool IsConfigured => _hash is not null;

    /// <summary>Null when the request may start work, else why not (and the status to answer).</summary>
    public (int Status, string Why)? Refusal(HttpContext http)
    {
        if (_hash is null)
            return IsLocal(http.Connection.RemoteIpAddress) ? null
                : (StatusCodes.Status403Forbidden, $"no work key is configured ({ConfigKey}): only loopback callers may start work");
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith(Scheme + " ", StringComparison.OrdinalIgnoreCase))
            return (StatusCodes.Status401Unauthorized, $"this request starts work and needs the work key (Authorization: {Scheme} KEY)");
        // Hashes of equal length, compared in constant time: neither the key's content nor its length leaks through timing.
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header[(Scheme.Length + 1)..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _hash) ? null
            : (StatusCodes.Status401Unauthorized, "the work key is wrong");
    }

    /// <summary>Loopback, IPv4 mapped into IPv6 included; no address at all is a unix socket, which its file mode guards.</summary>
    public static bool IsLocal(IPAddress? remote) =>
        remote is null || IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
}

/// <summary>Puts <see cref="WorkKey"/> in front of an endpoint that starts work.</summary>
public static class WorkKeyEndpoints
{
    public static RouteHandlerBuilder RequireWorkKey(this RouteHandlerBuilder endpoint) => endpoint.AddEndpointFilter(async (context, next) =>
    {
        var key = context.HttpContext.RequestServices.GetRequiredService<WorkKey>();
        if (key.Refusal(context.HttpContext) is not { } refusal) return await next(context);
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WorkKey));
        logger.LogWarning("refused {Method} {Path} from {Remote}: {Why}", context.HttpContext.Request.Method,
            context.HttpContext.Request.Path, context.HttpContext.Connection.RemoteIpAddress, refusal.Why);
        if (refusal.Status == StatusCodes.Status401Unauthorized) context.HttpContext.Response.Headers.WWWAuthenticate = WorkKey.Scheme;
        return Results.Problem(refusal.Why, statusCode: refusal.Status);
    });
}
