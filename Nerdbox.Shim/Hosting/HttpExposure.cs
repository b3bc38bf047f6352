using System.Net;

namespace Nerdbox.Shim.Hosting;

/// <summary>
/// Which addresses the HTTP side (health, the sample run) listens on. Loopback only, whatever the URLs
/// say (<c>*</c>, <c>+</c>, <c>0.0.0.0</c>, a host address), unless the operator opts in with
/// <c>Nerdbox:Http:ListenAnyAddress=true</c> (env <c>Nerdbox__Http__ListenAnyAddress</c>): an HTTP port
/// that anyone on the network can reach must be a decision, not a side effect of <c>HTTP_PORTS</c>.
/// </summary>
public sealed record HttpExposure(bool ListenAnyAddress)
{
    public const string ListenAnyAddressKey = "Nerdbox:Http:ListenAnyAddress";

    public static HttpExposure From(IConfiguration config)
    {
        var value = config[ListenAnyAddressKey];
        if (value is not { Length: > 0 }) return new(false);
        return bool.TryParse(value, out var yes)
            ? new(yes)
            : throw new ArgumentException($"{ListenAnyAddressKey} must be true or false, not '{value}'");
    }

    /// <summary>One URL's listening address and port; <c>Narrowed</c> says that a non-loopback host was replaced by loopback.</summary>
    public sealed record Binding(IPAddress? Address, int Port, bool Narrowed, string Asked)
    {
        /// <summary>null address: "localhost" (Kestrel binds both loopback families).</summary>
        public bool IsLocalhost => Address is null;
    }

    public Binding Bind(string url)
    {
        // Kestrel's wildcards are not valid URI hosts; read them as "any address".
        var uri = new Uri(url.Replace("://*", "://0.0.0.0").Replace("://+", "://0.0.0.0"));
        var port = uri.Port;
        if (uri.Host is "localhost") return new(null, port, false, url);
        var address = IPAddress.Parse(uri.Host.Trim('[', ']'));
        if (IPAddress.IsLoopback(address) || ListenAnyAddress) return new(address, port, false, url);
        return new(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, port, true, url);
    }
}
