using System.Reflection;
using System.Reflection.Emit;

namespace Nerdbox.Tests.Architecture;

/// <summary>
/// Which types a type uses, read from its signatures and its methods' IL (calls, fields, casts,
/// allocations), the way the compiled code really depends on them. Nested and compiler-made types
/// (closures, async state machines) count for the type they are declared in.
/// </summary>
internal static class TypeDependencies
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>The outermost declaring type: where a nested or generated type's code was written.</summary>
    public static Type Owner(Type t)
    {
        while (t.DeclaringType is { } d) t = d;
        return t;
    }

    public static IEnumerable<Type> Of(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (t.IsGenericParameter) return;
            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                foreach (var a in t.GetGenericArguments()) Add(a);
                t = t.GetGenericTypeDefinition();
            }
            found.Add(t);
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var f in type.GetFields(All)) Add(f.FieldType);
        foreach (var p in type.GetProperties(All)) Add(p.PropertyType);
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) Add(mi.ReturnType);
            foreach (var p in m.GetParameters()) Add(p.ParameterType);
            foreach (var t in FromIl(m)) Add(t);
        }
        return found;
    }

    private static IEnumerable<Type> FromIl(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception) { il = null; }
        if (il is null) yield break;
        var module = method.Module;
        var typeArgs = method.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var pos = 0; pos < il.Length;)
        {
            short value = il[pos++];
            if (value == 0xFE) value = (short)(0xFE00 | il[pos++]);
            if (!OpCodesByValue.TryGetValue(value, out var op)) yield break;
            switch (op.OperandType)
            {
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    var token = BitConverter.ToInt32(il, pos);
                    pos += 4;
                    MemberInfo? member;
                    try { member = module.ResolveMember(token, typeArgs, methodArgs); }
                    catch (Exception) { member = null; }
                    if (member is Type t) yield return t;
                    else if (member?.DeclaringType is { } owner) yield return owner;
                    if (member is FieldInfo fi) yield return fi.FieldType;
                    if (member is MethodInfo mi) yield return mi.ReturnType;
                    break;
                case OperandType.InlineSwitch:
                    pos += 4 + 4 * BitConverter.ToInt32(il, pos);
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    pos += 1;
                    break;
                case OperandType.InlineVar:
                    pos += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    pos += 8;
                    break;
                default:
                    pos += 4;
                    break;
            }
        }
    }
}
