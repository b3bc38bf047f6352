namespace Nerdbox.Engine.Bundles;

/// <summary>Task ids name directories on the host and in the guest, so they are kept to a safe alphabet.</summary>
public static class BundleStoreIds
{
    public static void Validate(string id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64 || id.StartsWith('.') ||
            !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new BundleException($"invalid task id '{id}': use 1-64 letters, digits, '-', '_' or '.', not starting with '.'");
    }
}
