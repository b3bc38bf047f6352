using System.Reflection;
using Nerdbox.Api.Contract;
using Nerdbox.Engine.Boot;
using Nerdbox.Engine.Vm;
using Nerdbox.Engine.Vm.Qemu;
using Nerdbox.Shim.Cli;

namespace Nerdbox.Tests.Cli;

/// <summary>
/// <c>--kernel-arg</c>: which words are refused and why, and that the accepted ones reach the VMM's
/// kernel command line. Refusals through the real executable are in <see cref="BadUsageExitsTwo"/>.
/// </summary>
public sealed class KernelArgTests
{
    [Theory]
    [InlineData("mitigations=off")]
    [InlineData("quiet")]
    [InlineData("init_on_alloc=0")]
    [InlineData("earlycon=uart8250,io,0x3f8")]
    [InlineData("xnerdbox.debug=1")]
    public void Ordinary_words_pass(string word) => Assert.Null(KernelArgWords.Problem(word));

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("a b", "has whitespace")]
    [InlineData("a\tb", "has whitespace")]
    [InlineData("dyndbg=\"file", "double quote")]
    [InlineData("--", "separator")]
    [InlineData("rdinit=/bin/sh", "rdinit=")]
    [InlineData("console=ttyS1", "console=")]
    [InlineData("nerdbox.channel=vsock:1024", "nerdbox.*")]
    [InlineData("nerdbox.debug=1", "nerdbox.*")]
    [InlineData("nerdbox.anything", "nerdbox.*")]
    public void The_shims_own_words_and_malformed_ones_are_refused(string word, string why) =>
        Assert.Contains(why, KernelArgWords.Problem(word));

    [Fact]
    public void Every_key_of_the_agent_contract_is_refused()
    {
        var keys = typeof(AgentKernelArgs).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();

        Assert.NotEmpty(keys);
        Assert.All(keys, key => Assert.NotNull(KernelArgWords.Problem(AgentKernelArgs.Word(key, 1))));
    }

    [Fact]
    public void The_words_follow_the_agents_settings_onto_qemus_command_line()
    {
        var options = new VmTaskOptions { Image = null!, Backend = new QemuBackend(), GuestSpanBufferSpans = 5, KernelArgs = ["mitigations=off", "quiet"] };

        // The user's words come last, after whatever the shim itself sets.
        var words = options.GuestKernelArgs.ToList();
        Assert.Equal(["mitigations=off", "quiet"], words.TakeLast(2));
        Assert.InRange(words.IndexOf("nerdbox.spans.max=5"), 0, words.Count - 3);
        var config = new VmConfig
        {
            Id = "kernel-args",
            StateDirectory = "/tmp/nerdbox-kernel-args-test",
            KernelPath = "/images/vmlinux",
            InitrdPath = "/images/initrd.cpio",
            KernelArgs = options.GuestKernelArgs,
        };
        var args = new QemuInstance("qemu-system-x86_64", config, "tcg").BuildArguments();
        var append = args[args.ToList().IndexOf("-append") + 1];
        Assert.EndsWith(" " + string.Join(' ', words), append);
        Assert.EndsWith(" mitigations=off quiet", append);
    }
}
