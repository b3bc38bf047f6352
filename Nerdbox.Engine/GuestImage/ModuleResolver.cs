using System.Text;

namespace Nerdbox.Engine.GuestImage;

/// <summary>
/// Orders kernel modules so that each comes after what it depends on, reading the dependency list
/// each module carries (its .modinfo "depends=" entry); the guest has no depmod or modprobe.
/// </summary>
public static class ModuleResolver
{
    /// <summary>The modules the guest needs: virtio over MMIO, the agent's channels, the rootfs disk and its file systems.</summary>
    public static readonly string[] Wanted =
    [
        "virtio_mmio", "virtio_console", "virtio_blk", "erofs", "overlay",
        "vsock", "vmw_vsock_virtio_transport",
    ];

    /// <summary>Returns module files (relative to <paramref name="modulesDir"/>) in load order.</summary>
    public static IReadOnlyList<string> Resolve(string modulesDir, IEnumerable<string> wanted)
    {
        var index = Directory.EnumerateFiles(modulesDir, "*.ko", SearchOption.AllDirectories)
            .GroupBy(f => Path.GetFileNameWithoutExtension(f).Replace('-', '_'))
            .ToDictionary(g => g.Key, g => g.First());
        var builtin = ReadBuiltin(modulesDir);
        var order = new List<string>();
        var visiting = new HashSet<string>();
        var done = new HashSet<string>();

        void Visit(string name)
        {
            name = name.Replace('-', '_');
            if (done.Contains(name) || builtin.Contains(name)) return;
            if (!index.TryGetValue(name, out var file))
                throw new GuestImageException($"kernel module '{name}' is neither a module nor built into this kernel");
            if (!visiting.Add(name)) throw new GuestImageException($"kernel module dependency cycle at '{name}'");
            foreach (var dep in Depends(file)) Visit(dep);
            visiting.Remove(name);
            done.Add(name);
            order.Add(Path.GetRelativePath(modulesDir, file));
        }

        foreach (var w in wanted) Visit(w);
        return order;
    }

    private static HashSet<string> ReadBuiltin(string modulesDir)
    {
        var file = Path.Combine(modulesDir, "modules.builtin");
        return File.Exists(file)
            ? File.ReadLines(file).Select(l => Path.GetFileNameWithoutExtension(l).Replace('-', '_')).ToHashSet()
            : [];
    }

    private static IEnumerable<string> Depends(string moduleFile)
    {
        var bytes = File.ReadAllBytes(moduleFile);
        var marker = "depends="u8;
        for (var at = bytes.AsSpan().IndexOf(marker); at >= 0;)
        {
            // .modinfo entries are NUL-terminated "key=value" strings.
            if (at == 0 || bytes[at - 1] == 0)
            {
                var start = at + marker.Length;
                var end = Array.IndexOf(bytes, (byte)0, start);
                var value = Encoding.ASCII.GetString(bytes, start, end - start);
                return value.Split(',', StringSplitOptions.RemoveEmptyEntries);
            }
            var next = bytes.AsSpan(at + 1).IndexOf(marker);
            at = next < 0 ? -1 : at + 1 + next;
        }
        return [];
    }
}
