using System.Diagnostics;
using System.Reflection.PortableExecutable;
using Nerdbox.Engine.Host;

namespace Nerdbox.Shim.Cli.Bench;

/// <summary>
/// The wall time a user sees: a separate <c>nerdbox-shim run</c> process, from its start until the
/// container's line is on its stdout. <see cref="Executable"/> is what is started and
/// <see cref="Description"/> says what kind of build it is, because that is most of the host's part.
/// </summary>
internal sealed class CliWall
{
    private readonly string _program;
    private readonly IReadOnlyList<string> _prefix;

    private CliWall(string program, IReadOnlyList<string> prefix, string description)
    {
        _program = program;
        _prefix = prefix;
        Description = description;
    }

    /// <summary>The command line that starts the CLI, before its verb.</summary>
    public string Executable => string.Join(' ', [_program, .. _prefix]);

    /// <summary>ReadyToRun or JIT, or a single file; and the path.</summary>
    public string Description { get; }

    /// <summary><paramref name="path"/> (an executable or a .dll run by dotnet), else the executable this process runs from.</summary>
    public static CliWall Resolve(string? path)
    {
        path ??= Environment.ProcessPath ?? throw new InvalidOperationException("this process has no executable path: give --cli");
        path = Path.GetFullPath(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"--cli: no such executable: {path}", path);
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            // Run through the dotnet host: the shim's own assembly is the program.
            var dll = ShimProgram.AssemblyPath;
            return new CliWall(path, [dll], $"{dll} run by {path} ({Kind(dll)})");
        }
        if (path.EndsWith(".dll", StringComparison.Ordinal))
            return new CliWall("dotnet", [path], $"{path} run by dotnet ({Kind(path)})");
        var beside = Path.ChangeExtension(path, ".dll");
        return new CliWall(path, [], $"{path} ({(File.Exists(beside) ? Kind(beside) : "single file or NativeAOT: no assembly beside it")})");
    }

    /// <summary>ReadyToRun code is in the assembly when its CLI header names a native header.</summary>
    private static string Kind(string assembly)
    {
        using var pe = new PEReader(File.OpenRead(assembly));
        var readyToRun = pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
        return readyToRun ? "ReadyToRun" : "IL only: JIT-compiled at start";
    }

    /// <summary>Runs <c>run</c> once; the time from process start until <paramref name="line"/> is on its stdout, or null when it failed.</summary>
    public async Task<TimeSpan?> RunOnceAsync(IReadOnlyList<string> runArgs, string line, TimeSpan timeout, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(_program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in _prefix.Concat(runArgs)) psi.ArgumentList.Add(a);
        using var process = new Process { StartInfo = psi };
        var seen = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = new Queue<string>();
        var clock = new Stopwatch();
        process.OutputDataReceived += (_, e) => { if (e.Data == line) seen.TrySetResult(clock.Elapsed); };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr)
            {
                stderr.Enqueue(e.Data);
                if (stderr.Count > 3) stderr.Dequeue();
            }
        };
        clock.Start();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (ct.IsCancellationRequested) throw;
            Console.Error.WriteLine($"nerdbox: {Executable} run did not end within {timeout.TotalSeconds:0}s; killed, left out");
            return null;
        }
        if (process.ExitCode == 0 && seen.Task.IsCompleted) return await seen.Task;
        Console.Error.WriteLine($"nerdbox: {Executable} run exited with {process.ExitCode}{(seen.Task.IsCompleted ? "" : $" without printing '{line}'")}, left out: " +
            string.Join(" | ", stderr));
        return null;
    }
}
