using System.Text.Json;

namespace Coral.Infra.Tests.Arm;

/// <summary>One deployed resource instance of a compiled template: a copy-loop iteration in a (nested) template.</summary>
public sealed class ResourceInstance(string type, string modulePath, JsonElement raw, ArmTemplate.Scope scope)
{
    public string Type { get; } = type;

    /// <summary>Names of the nested deployments (Bicep modules) that contain it, e.g. "rbac" or "" for main.</summary>
    public string ModulePath { get; } = modulePath;

    public JsonElement Raw { get; } = raw;
    internal ArmTemplate.Scope Scope { get; } = scope;

    /// <summary>Evaluates the value at a dotted path of the resource ("properties.template.scale"). Where Bicep
    /// emitted an expression for part of the path (e.g. properties: "[variables('x')]"), the rest of the path is
    /// followed in the evaluated value.</summary>
    public object? Eval(string path)
    {
        var parts = path.Split('.');
        var el = Raw;
        for (int i = 0; i < parts.Length; i++)
        {
            if (el.ValueKind == JsonValueKind.String && ArmExpression.IsExpression(el.GetString()!))
                return Follow(Scope.EvaluateElement(el), parts[i..], path);
            if (el.ValueKind != JsonValueKind.Object || !TryGetProperty(el, parts[i], out el))
                throw new KeyNotFoundException($"{Type} in '{ModulePath}' has no '{path}'");
        }
        return Scope.EvaluateElement(el);
    }

    public bool Has(string path)
    {
        try
        {
            Eval(path);
            return true;
        }
        catch (KeyNotFoundException)
        {
            return false;
        }
    }

    private object? Follow(object? value, string[] rest, string path)
    {
        foreach (var part in rest)
        {
            value = value switch
            {
                Dictionary<string, object?> o when o.TryGetValue(part, out var v) => v,
                Unknown u => new Unknown(u.Text + "." + part),
                _ => throw new KeyNotFoundException($"{Type} in '{ModulePath}' has no '{path}'"),
            };
        }
        return value;
    }

    public string Name => ArmExpression.Text(Eval("name"));

    /// <summary>The last segment of the resource name (containers/queues are "account/default/name").</summary>
    public string LeafName => Name.Split('/')[^1];

    private static bool TryGetProperty(JsonElement el, string name, out JsonElement value)
    {
        foreach (var p in el.EnumerateObject())
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) { value = p.Value; return true; }
        value = default;
        return false;
    }

    public override string ToString() => $"{Type} '{Name}' (module '{ModulePath}')";
}

/// <summary>
/// Walks a Bicep-compiled ARM template: expands copy loops, follows nested deployments (modules) with their
/// parameters, skips resources whose condition is false, and evaluates values with <see cref="ArmExpression"/>.
/// </summary>
public sealed class ArmTemplate
{
    private readonly JsonElement _root;
    private readonly IReadOnlyDictionary<string, object?> _parameterValues;
    private readonly bool _tolerateUnknown;

    /// <param name="tolerateUnknown">Skip copy loops whose count, and keep resources whose condition, is only
    /// known at deployment time (instead of failing).</param>
    public ArmTemplate(JsonElement root, IReadOnlyDictionary<string, object?>? parameterValues = null, bool tolerateUnknown = false)
    {
        _root = root;
        _parameterValues = parameterValues ?? new Dictionary<string, object?>();
        _tolerateUnknown = tolerateUnknown;
    }

    public JsonElement Root => _root;

    private List<ResourceInstance>? _resources;

    /// <summary>Every resource instance (walked once, then cached).</summary>
    public List<ResourceInstance> Resources() => _resources ??= Walk();

    private List<ResourceInstance> Walk()
    {
        var list = new List<ResourceInstance>();
        var top = new Scope(_root, null, "", _parameterValues.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase));
        Walk(top, list, _tolerateUnknown);
        return list;
    }

    public IEnumerable<ResourceInstance> OfType(string type) =>
        Resources().Where(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));

    private static void Walk(Scope scope, List<ResourceInstance> output, bool tolerate)
    {
        if (!scope.Template.TryGetProperty("resources", out var resources)) return;
        IEnumerable<JsonElement> items = resources.ValueKind == JsonValueKind.Array
            ? resources.EnumerateArray()
            : resources.EnumerateObject().Select(p => p.Value); // languageVersion 2.0 templates
        foreach (var res in items)
        {
            if (res.TryGetProperty("existing", out var ex) && ex.ValueKind == JsonValueKind.True) continue;
            string type = res.GetProperty("type").GetString()!;
            int count = 1;
            string? loopName = null;
            if (res.TryGetProperty("copy", out var copy))
            {
                loopName = copy.GetProperty("name").GetString();
                var c = scope.EvaluateElement(copy.GetProperty("count"));
                if (c is long n) count = (int)n;
                else if (tolerate) continue;
                else throw new ArmEvaluationException($"copy count of {type} is not known: {ArmExpression.Text(c)}");
            }

            for (int i = 0; i < count; i++)
            {
                var instanceScope = loopName is null ? scope : scope.WithCopy(loopName, i);
                if (res.TryGetProperty("condition", out var cond))
                {
                    var cv = instanceScope.EvaluateElement(cond);
                    if (cv is false) continue;
                    if (cv is not true && !tolerate) throw new ArmEvaluationException($"condition of {type} is not known: {ArmExpression.Text(cv)}");
                }

                var instance = new ResourceInstance(type, scope.ModulePath, res, instanceScope);
                output.Add(instance);

                if (type.Equals("Microsoft.Resources/deployments", StringComparison.OrdinalIgnoreCase)
                    && res.GetProperty("properties").TryGetProperty("template", out var nested))
                {
                    string moduleName = ArmExpression.Text(instance.Eval("name"));
                    var passed = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                    if (res.GetProperty("properties").TryGetProperty("parameters", out var ps))
                        foreach (var p in ps.EnumerateObject())
                            passed[p.Name] = PassedValue(p.Name, p.Value, instanceScope);
                    var child = new Scope(nested, instanceScope,
                        string.IsNullOrEmpty(scope.ModulePath) ? moduleName : scope.ModulePath + "/" + moduleName, passed);
                    Walk(child, output, tolerate);
                }
            }
        }
    }

    /// <summary>A module parameter: { "value": ... }, a key vault reference, or (for conditional values) an
    /// expression that yields the { "value": ... } object.</summary>
    private static object? PassedValue(string name, JsonElement el, Scope scope)
    {
        if (el.ValueKind == JsonValueKind.Object)
            return el.TryGetProperty("value", out var v) ? scope.EvaluateElement(v) : new Unknown("keyvault:" + name);
        var wrapped = scope.EvaluateElement(el);
        return wrapped is Dictionary<string, object?> o && o.TryGetValue("value", out var inner) ? inner : new Unknown(name + ":" + ArmExpression.Text(wrapped));
    }

    /// <summary>Converts a JSON element to evaluator values without evaluating expressions.</summary>
    public static object? FromJson(JsonElement el) => el.ValueKind switch
    {
        JsonValueKind.String => el.GetString(),
        JsonValueKind.Number => el.TryGetInt64(out var l) ? (object)l : el.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.Array => el.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => el.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value), StringComparer.OrdinalIgnoreCase),
        _ => throw new ArmEvaluationException("unexpected JSON"),
    };

    public sealed class Scope : ArmExpression.IScope
    {
        private readonly Scope? _parent;
        private readonly Dictionary<string, object?> _passed;
        private readonly Dictionary<string, object?> _variableCache = new(StringComparer.OrdinalIgnoreCase);
        private readonly Dictionary<string, object?> _parameterCache = new(StringComparer.OrdinalIgnoreCase);
        private readonly Dictionary<string, int> _copy;
        private readonly Scope _owner; // the scope that owns variables/parameters (copies share them)

        public Scope(JsonElement template, Scope? parent, string modulePath, Dictionary<string, object?> passed)
        {
            Template = template;
            _parent = parent;
            ModulePath = modulePath;
            _passed = passed;
            _copy = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            _owner = this;
        }

        private Scope(Scope owner, Dictionary<string, int> copy)
        {
            Template = owner.Template;
            _parent = owner._parent;
            ModulePath = owner.ModulePath;
            _passed = owner._passed;
            _copy = copy;
            _owner = owner;
        }

        public JsonElement Template { get; }
        public string ModulePath { get; }
        private string? _currentLoop;

        public Scope WithCopy(string loop, int index)
        {
            var copy = new Dictionary<string, int>(_copy, StringComparer.OrdinalIgnoreCase) { [loop] = index };
            return new Scope(_owner, copy) { _currentLoop = loop };
        }

        public object? EvaluateElement(JsonElement el) => el.ValueKind switch
        {
            JsonValueKind.String => ArmExpression.EvaluateString(el.GetString()!, this),
            JsonValueKind.Array => el.EnumerateArray().Select(EvaluateElement).ToList(),
            JsonValueKind.Object => el.EnumerateObject().ToDictionary(
                p => ArmExpression.Text(ArmExpression.EvaluateString(p.Name, this)), p => EvaluateElement(p.Value), StringComparer.OrdinalIgnoreCase),
            _ => FromJson(el),
        };

        public object? Variable(string name)
        {
            var owner = _owner;
            if (owner._variableCache.TryGetValue(name, out var cached)) return cached;
            if (!Template.TryGetProperty("variables", out var vars))
                throw new ArmEvaluationException($"variable '{name}' not found in module '{ModulePath}'");
            if (!vars.TryGetProperty(name, out var raw))
            {
                // Bicep compiles `var x = [for ...]` into variables.copy: [{ name, count, input }] evaluated per copyIndex(name).
                var loop = vars.TryGetProperty("copy", out var copies)
                    ? copies.EnumerateArray().Cast<JsonElement?>().FirstOrDefault(c => string.Equals(c!.Value.GetProperty("name").GetString(), name, StringComparison.OrdinalIgnoreCase))
                    : null;
                if (loop is not { } l) throw new ArmEvaluationException($"variable '{name}' not found in module '{ModulePath}'");
                var c = owner.EvaluateElement(l.GetProperty("count"));
                if (c is not (long or int))
                    throw new ArmEvaluationException($"count of variable loop '{name}' is not known in module '{ModulePath}'");
                var items = Enumerable.Range(0, Convert.ToInt32(c)).Select(i => owner.WithCopy(name, i).EvaluateElement(l.GetProperty("input"))).ToList<object?>();
                owner._variableCache[name] = items;
                return items;
            }
            // Variables never depend on copyIndex() of a resource loop, so they are evaluated in the owner scope.
            var value = owner.EvaluateElement(raw);
            owner._variableCache[name] = value;
            return value;
        }

        public object? Parameter(string name)
        {
            var owner = _owner;
            if (owner._parameterCache.TryGetValue(name, out var cached)) return cached;
            object? value;
            if (_passed.TryGetValue(name, out var passed)) value = passed;
            else if (Template.TryGetProperty("parameters", out var ps) && ps.TryGetProperty(name, out var def)
                     && def.TryGetProperty("defaultValue", out var dv)) value = owner.EvaluateElement(dv);
            else value = new Unknown("parameters('" + name + "')");
            owner._parameterCache[name] = value;
            return value;
        }

        public int CopyIndex(string? loopName)
        {
            string? loop = loopName ?? _currentLoop;
            if (loop is not null && _copy.TryGetValue(loop, out var i)) return i;
            throw new ArmEvaluationException($"copyIndex({loopName}) outside its loop in module '{ModulePath}'");
        }
    }
}
