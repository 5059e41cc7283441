using System.Globalization;
using System.Text;

namespace Coral.Infra.Tests.Arm;

/// <summary>A value that is only known at deployment time (reference(), resourceGroup(), ...). Text is a readable
/// stand-in so assertions can still look at the known parts (e.g. a scope that ends in /containers/incoming).</summary>
public sealed record Unknown(string Text)
{
    public override string ToString() => "{?" + Text + "}";
}

/// <summary>
/// A small evaluator for the ARM template expression language, enough for what Bicep emits for this repo:
/// literals, property/index access, variables()/parameters()/copyIndex(), and the common pure functions.
/// Anything deployment-time (reference, resourceGroup, guid, uniqueString...) evaluates to <see cref="Unknown"/>.
/// Values: string, long, double, bool, null, List&lt;object?&gt;, Dictionary&lt;string, object?&gt; (case-insensitive), Unknown.
/// </summary>
public static class ArmExpression
{
    public interface IScope
    {
        object? Variable(string name);
        object? Parameter(string name);
        int CopyIndex(string? loopName);
    }

    /// <summary>True for a JSON string that ARM treats as an expression: "[...]" but not "[[...".</summary>
    public static bool IsExpression(string s) => s.Length >= 2 && s[0] == '[' && s[^1] == ']' && !s.StartsWith("[[", StringComparison.Ordinal);

    /// <summary>Evaluates a template string value: an expression, an escaped "[[" literal, or a plain literal.</summary>
    public static object? EvaluateString(string s, IScope scope)
    {
        if (IsExpression(s)) return Evaluate(s[1..^1], scope);
        if (s.StartsWith("[[", StringComparison.Ordinal)) return s[1..];
        return s;
    }

    public static object? Evaluate(string expression, IScope scope)
    {
        var parser = new Parser(expression);
        var node = parser.ParseExpression();
        parser.ExpectEnd();
        return node.Eval(scope);
    }

    public static bool IsUnknown(object? v) => v is Unknown;

    /// <summary>Readable text of a value (known or not), for assertions on partly-known strings.</summary>
    public static string Text(object? v) => v switch
    {
        null => "null",
        string s => s,
        Unknown u => u.Text,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        List<object?> list => "[" + string.Join(",", list.Select(Text)) + "]",
        Dictionary<string, object?> obj => "{" + string.Join(",", obj.Select(kv => kv.Key + ":" + Text(kv.Value))) + "}",
        _ => v.ToString() ?? "",
    };

    // ---------------------------------------------------------------- syntax tree

    private abstract class Node
    {
        public abstract object? Eval(IScope scope);
        public abstract string Source();
    }

    private sealed class Literal(object? value) : Node
    {
        public object? Value { get; } = value;
        public override object? Eval(IScope scope) => Value;
        public override string Source() => Value is string s ? "'" + s + "'" : Text(Value);
    }

    private sealed class Call(string name, List<Node> args) : Node
    {
        public override object? Eval(IScope scope) => Functions.Invoke(name, args, scope);
        public override string Source() => name + "(" + string.Join(", ", args.Select(a => a.Source())) + ")";
        public string Name => name;
        public List<Node> Args => args;
    }

    private sealed class Member(Node target, string property) : Node
    {
        public override object? Eval(IScope scope) => Access(target.Eval(scope), property);
        public override string Source() => target.Source() + "." + property;
    }

    private sealed class Index(Node target, Node index) : Node
    {
        public override object? Eval(IScope scope)
        {
            var t = target.Eval(scope);
            var i = index.Eval(scope);
            return i switch
            {
                string key => Access(t, key),
                long n => t switch
                {
                    List<object?> list => n >= 0 && n < list.Count ? list[(int)n] : throw new ArmEvaluationException($"index {n} out of range in {Source()}"),
                    Unknown u => new Unknown(u.Text + "[" + n + "]"),
                    _ => throw new ArmEvaluationException($"cannot index {Text(t)} with {n}"),
                },
                Unknown u => new Unknown(Text(t) + "[" + u.Text + "]"),
                _ => throw new ArmEvaluationException($"bad index {Text(i)} in {Source()}"),
            };
        }

        public override string Source() => target.Source() + "[" + index.Source() + "]";
    }

    private static object? Access(object? target, string property) => target switch
    {
        Dictionary<string, object?> obj => obj.TryGetValue(property, out var v)
            ? v
            : throw new ArmEvaluationException($"property '{property}' not found (has: {string.Join(", ", obj.Keys)})"),
        Unknown u => new Unknown(u.Text + "." + property),
        _ => throw new ArmEvaluationException($"cannot read '{property}' of {Text(target)}"),
    };

    // ---------------------------------------------------------------- parser

    private sealed class Parser(string text)
    {
        private int _pos;

        public Node ParseExpression()
        {
            SkipWs();
            Node node;
            char c = Peek();
            if (c == '\'') node = new Literal(ReadString());
            else if (char.IsDigit(c) || c == '-') node = new Literal(ReadNumber());
            else if (char.IsLetter(c) || c == '_')
            {
                string name = ReadIdentifier();
                SkipWs();
                Expect('(');
                var args = new List<Node>();
                SkipWs();
                if (Peek() != ')')
                {
                    while (true)
                    {
                        args.Add(ParseExpression());
                        SkipWs();
                        if (Peek() == ',') { _pos++; continue; }
                        break;
                    }
                }
                Expect(')');
                node = new Call(name, args);
            }
            else throw new ArmEvaluationException($"unexpected '{c}' at {_pos} in: {text}");

            while (true)
            {
                SkipWs();
                if (Peek() == '.')
                {
                    _pos++;
                    node = new Member(node, ReadIdentifier());
                }
                else if (Peek() == '[')
                {
                    _pos++;
                    var index = ParseExpression();
                    SkipWs();
                    Expect(']');
                    node = new Index(node, index);
                }
                else return node;
            }
        }

        public void ExpectEnd()
        {
            SkipWs();
            if (_pos != text.Length) throw new ArmEvaluationException($"trailing text at {_pos} in: {text}");
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private void SkipWs()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw new ArmEvaluationException($"expected '{c}' at {_pos} in: {text}");
            _pos++;
        }

        private string ReadIdentifier()
        {
            int start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] == '_' || text[_pos] == '$' || text[_pos] == '#'))
                _pos++;
            if (start == _pos) throw new ArmEvaluationException($"identifier expected at {_pos} in: {text}");
            return text[start.._pos];
        }

        private string ReadString()
        {
            Expect('\'');
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length) throw new ArmEvaluationException("unterminated string in: " + text);
                char c = text[_pos++];
                if (c == '\'')
                {
                    if (Peek() == '\'') { sb.Append('\''); _pos++; continue; }
                    return sb.ToString();
                }
                sb.Append(c);
            }
        }

        private object ReadNumber()
        {
            int start = _pos;
            if (Peek() == '-') _pos++;
            while (_pos < text.Length && (char.IsDigit(text[_pos]) || text[_pos] == '.')) _pos++;
            var s = text[start.._pos];
            return s.Contains('.') ? double.Parse(s, CultureInfo.InvariantCulture) : long.Parse(s, CultureInfo.InvariantCulture);
        }
    }

    // ---------------------------------------------------------------- functions

    private static class Functions
    {
        public static object? Invoke(string name, List<Node> argNodes, IScope scope)
        {
            switch (name.ToLowerInvariant())
            {
                // Lazy ones first: only the chosen branch is evaluated.
                case "if":
                {
                    var cond = argNodes[0].Eval(scope);
                    return cond switch
                    {
                        bool b => (b ? argNodes[1] : argNodes[2]).Eval(scope),
                        _ => new Unknown("if(" + Text(cond) + ")"),
                    };
                }
                case "coalesce":
                    foreach (var n in argNodes)
                    {
                        var v = n.Eval(scope);
                        if (v is not null) return v;
                    }
                    return null;
            }

            var args = argNodes.Select(a => a.Eval(scope)).ToList();
            string Str(int i) => args[i] as string ?? throw new ArmEvaluationException($"{name}: argument {i} is not a string: {Text(args[i])}");

            switch (name.ToLowerInvariant())
            {
                case "variables": return scope.Variable(Str(0));
                case "parameters": return scope.Parameter(Str(0));
                case "copyindex":
                {
                    string? loop = args.FirstOrDefault(a => a is string) as string;
                    long offset = args.OfType<long>().FirstOrDefault();
                    return scope.CopyIndex(loop) + offset;
                }
                case "true": return true;
                case "false": return false;
                case "null": return null;
                case "createarray": return args.ToList();
                case "createobject":
                {
                    var o = NewObject();
                    for (int i = 0; i + 1 < args.Count; i += 2) o[Text(args[i])] = args[i + 1];
                    return o;
                }
            }

            if (args.Any(a => a is Unknown) && !ToleratesUnknown(name))
                return new Unknown(name + "(" + string.Join(", ", args.Select(Text)) + ")");

            switch (name.ToLowerInvariant())
            {
                case "format":
                {
                    var fmt = Str(0);
                    var rest = args.Skip(1).Select(Text).Cast<object>().ToArray();
                    string text = string.Format(CultureInfo.InvariantCulture, fmt, rest);
                    return args.Skip(1).Any(a => a is Unknown) ? new Unknown(text) : text;
                }
                case "concat":
                    if (args.All(a => a is List<object?>)) return args.SelectMany(a => (List<object?>)a!).ToList();
                    return Join(args, "");
                case "string":
                    return args[0] switch
                    {
                        string s => s,
                        Unknown u => u,
                        bool b => b ? "True" : "False",
                        double d => d.ToString(CultureInfo.InvariantCulture),
                        long l => l.ToString(CultureInfo.InvariantCulture),
                        var other => Text(other),
                    };
                case "json":
                {
                    var s = Str(0);
                    if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
                        return s.Contains('.') || s.Contains('e') || s.Contains('E') ? (object)d : (long)d;
                    return ArmTemplate.FromJson(System.Text.Json.JsonDocument.Parse(s).RootElement);
                }
                case "int": return args[0] is string si ? long.Parse(si, CultureInfo.InvariantCulture) : Convert.ToInt64(args[0], CultureInfo.InvariantCulture);
                case "bool": return args[0] is string sb ? bool.Parse(sb) : args[0];
                case "tolower": return args[0] is Unknown ? args[0] : Str(0).ToLowerInvariant();
                case "toupper": return args[0] is Unknown ? args[0] : Str(0).ToUpperInvariant();
                case "replace": return Mixed(args, () => Str(0).Replace(Str(1), Str(2), StringComparison.Ordinal));
                case "take":
                    return args[0] switch
                    {
                        string s => s[..(int)Math.Min(s.Length, Convert.ToInt64(args[1], CultureInfo.InvariantCulture))],
                        List<object?> l => l.Take((int)Convert.ToInt64(args[1], CultureInfo.InvariantCulture)).ToList(),
                        Unknown u => u,
                        _ => throw new ArmEvaluationException("take: bad argument"),
                    };
                case "length":
                    return args[0] switch
                    {
                        string s => (long)s.Length,
                        List<object?> l => (long)l.Count,
                        Dictionary<string, object?> o => (long)o.Count,
                        Unknown u => new Unknown("length(" + u.Text + ")"),
                        _ => throw new ArmEvaluationException("length: bad argument"),
                    };
                case "empty":
                    return args[0] switch
                    {
                        null => true,
                        string s => s.Length == 0,
                        List<object?> l => l.Count == 0,
                        Dictionary<string, object?> o => o.Count == 0,
                        Unknown u => new Unknown("empty(" + u.Text + ")"),
                        _ => false,
                    };
                case "not": return args[0] is bool nb ? !nb : new Unknown("not(" + Text(args[0]) + ")");
                case "and": return args.All(a => a is bool) ? args.All(a => (bool)a!) : new Unknown("and(...)");
                case "or": return args.All(a => a is bool) ? args.Any(a => (bool)a!) : new Unknown("or(...)");
                case "equals": return args.Any(a => a is Unknown) ? new Unknown("equals(...)") : Equals(Text(args[0]), Text(args[1]));
                case "contains":
                    return args[0] switch
                    {
                        Dictionary<string, object?> o => o.ContainsKey(Text(args[1])),
                        List<object?> l => l.Any(x => Text(x) == Text(args[1])),
                        string s => s.Contains(Text(args[1]), StringComparison.OrdinalIgnoreCase),
                        _ => new Unknown("contains(...)"),
                    };
                case "items":
                {
                    if (args[0] is not Dictionary<string, object?> o) return new Unknown("items(" + Text(args[0]) + ")");
                    return o.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase)
                        .Select(kv => (object?)new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["key"] = kv.Key, ["value"] = kv.Value })
                        .ToList();
                }
                case "union":
                {
                    if (args.All(a => a is Dictionary<string, object?>))
                    {
                        var o = NewObject();
                        foreach (var d in args.Cast<Dictionary<string, object?>>())
                            foreach (var kv in d) o[kv.Key] = kv.Value;
                        return o;
                    }
                    if (args.All(a => a is List<object?>)) return args.SelectMany(a => (List<object?>)a!).Distinct().ToList();
                    return new Unknown("union(...)");
                }
                case "first": return args[0] is List<object?> fl ? fl.FirstOrDefault() : args[0] is string fs ? fs[..1] : new Unknown("first(...)");
                case "last": return args[0] is List<object?> ll ? ll.LastOrDefault() : args[0] is string ls ? ls[^1..] : new Unknown("last(...)");
                case "split": return Str(0).Split(Str(1)).Cast<object?>().ToList();
                case "resourceid":
                    return ResourceId(args, subscriptionScope: false);
                case "subscriptionresourceid":
                    return ResourceId(args, subscriptionScope: true);
                case "extensionresourceid":
                    return new Unknown(Text(args[0]) + "/providers/" + Text(args[1]) + "/" + string.Join("/", args.Skip(2).Select(Text)));
                case "guid": return new Unknown("guid(" + string.Join(", ", args.Select(Text)) + ")");
                case "uniquestring": return new Unknown("uniqueString(" + string.Join(", ", args.Select(Text)) + ")");
                case "reference":
                case "resourcegroup":
                case "subscription":
                case "tenant":
                case "deployment":
                case "environment":
                case "deployer":
                case "utcnow":
                case "newguid":
                    return new Unknown(name + "(" + string.Join(", ", args.Select(Text)) + ")");
                default:
                    // Not needed so far; an unknown function must not silently pass an assertion.
                    return new Unknown("unsupported:" + name + "(" + string.Join(", ", args.Select(Text)) + ")");
            }
        }

        private static bool ToleratesUnknown(string name) => name.ToLowerInvariant() is "format" or "concat" or "resourceid"
            or "subscriptionresourceid" or "length" or "empty" or "not" or "and" or "or" or "equals" or "contains" or "take"
            or "tolower" or "toupper" or "string" or "union" or "first" or "last" or "items" or "guid" or "uniquestring"
            or "reference" or "extensionresourceid";

        private static Dictionary<string, object?> NewObject() => new(StringComparer.OrdinalIgnoreCase);

        private static object Mixed(List<object?> args, Func<string> known) =>
            args.Any(a => a is Unknown) ? new Unknown(string.Join(",", args.Select(Text))) : known();

        private static object Join(List<object?> args, string sep)
        {
            string text = string.Join(sep, args.Select(Text));
            return args.Any(a => a is Unknown) ? new Unknown(text) : text;
        }

        private static object ResourceId(List<object?> args, bool subscriptionScope)
        {
            // resourceId([subscriptionId], [resourceGroup], type, name1, name2, ...): find the type (has a '/').
            int typeAt = args.FindIndex(a => a is string s && s.Contains('/'));
            if (typeAt < 0) return new Unknown("resourceId(" + string.Join(", ", args.Select(Text)) + ")");
            var typeParts = ((string)args[typeAt]!).Split('/');
            var names = args.Skip(typeAt + 1).ToList();
            var sb = new StringBuilder(subscriptionScope ? "/subscriptions/{sub}" : "/subscriptions/{sub}/resourceGroups/{rg}");
            sb.Append("/providers/").Append(typeParts[0]);
            for (int i = 1; i < typeParts.Length; i++)
                sb.Append('/').Append(typeParts[i]).Append('/').Append(i - 1 < names.Count ? Text(names[i - 1]) : "?");
            return names.Any(n => n is Unknown) ? new Unknown(sb.ToString()) : sb.ToString();
        }
    }
}

public sealed class ArmEvaluationException(string message) : Exception(message);
