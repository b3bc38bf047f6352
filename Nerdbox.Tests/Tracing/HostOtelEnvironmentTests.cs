using Microsoft.Extensions.Configuration;

namespace Nerdbox.Tests.Tracing;

/// <summary>
/// The host's OTEL_RESOURCE_ATTRIBUTES and OTEL_SDK_DISABLED as the guest's half of a trace takes them:
/// bad entries left out and reported, and the guest's own identity never taken from the host's environment.
/// </summary>
public sealed class HostOtelEnvironmentTests
{
    internal static HostOtelEnvironment From(string? attributes, string? disabled = null) =>
        HostOtelEnvironment.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OTEL_RESOURCE_ATTRIBUTES"] = attributes,
            ["OTEL_SDK_DISABLED"] = disabled,
        }).Build());

    [Fact]
    public void Attributes_are_read_and_malformed_entries_reported()
    {
        var otel = From("deployment.environment.name=boot%20test,no-equals,team=a");
        Assert.Equal([new("deployment.environment.name", "boot test"), new("team", "a")], otel.ResourceAttributes);
        Assert.Equal(["no-equals"], otel.MalformedEntries);
        Assert.False(otel.SdkDisabled);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("TRUE", true)]
    [InlineData("false", false)]
    [InlineData("1", false)]
    [InlineData(null, false)]
    public void Only_true_disables(string? value, bool disabled) => Assert.Equal(disabled, From(null, value).SdkDisabled);

    [Fact]
    public void The_guest_resource_takes_the_environment_but_its_identity_and_the_hosts_own_keys_win()
    {
        var otel = From("deployment.environment.name=prod,service.name=shim,service.instance.id=shim-1,service.version=1.0,os.version=host,nerdbox.vm.backend=env,extra=x");
        var resource = GuestResource.Attributes(otel, "vm-7", "2.3.4", "6.1.0-guest", [new("nerdbox.vm.backend", "qemu")]);

        Assert.Equal("prod", resource["deployment.environment.name"]);
        Assert.Equal("x", resource["extra"]);
        Assert.Equal("vm-7", resource["service.instance.id"]);
        Assert.Equal("2.3.4", resource["service.version"]);
        Assert.Equal("6.1.0-guest", resource["os.version"]);
        Assert.Equal("linux", resource["os.type"]);
        Assert.Equal("qemu", resource["nerdbox.vm.backend"]);
        // The relay names the service itself; the environment's service name is the shim's.
        Assert.False(resource.ContainsKey("service.name"));

        // Without an agent version, the host's own version is still not the guest's.
        Assert.False(GuestResource.Attributes(otel, "vm-7", null, null, []).ContainsKey("service.version"));
    }
}
