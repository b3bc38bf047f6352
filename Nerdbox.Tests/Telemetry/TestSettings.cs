using Microsoft.Extensions.Configuration;

namespace Nerdbox.Tests.Telemetry;

/// <summary>Settings as a configuration whose keys are the variable names, so tests need not touch the process environment.</summary>
internal static class TestSettings
{
    public static IConfiguration Of(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
}
