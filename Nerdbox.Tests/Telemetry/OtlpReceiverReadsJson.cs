using System.Net;
using System.Text;

namespace Nerdbox.Tests.Telemetry;

/// <summary>The test receiver's OTLP/HTTP face takes OTLP/JSON as collectors do, answers in JSON, and refuses a body that does not parse with a 400 naming why.</summary>
public sealed class OtlpReceiverReadsJson
{
    [Fact]
    public async Task Json_is_read_with_hex_ids_and_answered_in_json()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var http = new HttpClient();
        const string body = """{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json"}}]},"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"j","startTimeUnixNano":"1700000000000000001","endTimeUnixNano":"1700000000000000002"}]}]}]}""";
        using var response = await http.PostAsync(receiver.HttpEndpoint, new StringContent(body, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{ }", (await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).Trim());
        var span = Assert.Single(receiver.Spans);
        Assert.Equal("json", span.ServiceName);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", Infrastructure.TracedRun.Hex(span.Span.TraceId));
        Assert.Equal(1700000000000000001UL, span.Span.StartTimeUnixNano);
    }

    [Theory]
    [InlineData("application/json", "{\"resourceSpans\":[", "not valid JSON")]
    [InlineData("application/json", "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\",\"traceId\":\"zz\",\"spanId\":\"b7ad6b7169203331\"}]}]}]}", "span 'x'")]
    [InlineData("application/x-protobuf", "\u00ff\u00ff\u00ff", "not an OTLP trace export request")]
    public async Task A_body_that_does_not_parse_is_a_400_naming_why(string contentType, string body, string named)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var http = new HttpClient();
        var content = new ByteArrayContent(contentType.EndsWith("json") ? Encoding.UTF8.GetBytes(body) : body.Select(c => (byte)c).ToArray());
        content.Headers.ContentType = new(contentType);
        using var response = await http.PostAsync(receiver.HttpEndpoint, content, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(named, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Empty(receiver.Spans);
    }
}
