using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nerdbox.Shim.Service;

/// <summary>
/// The service's JSON bodies, with their (de)serialisers generated at build time so that a NativeAOT
/// publish serves them too. Web names (camelCase); a request field the shim does not know is refused.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(SampleRunRequest))]
[JsonSerializable(typeof(SampleRunEndpoint.SampleRunResult))]
internal sealed partial class ServiceJson : JsonSerializerContext;
