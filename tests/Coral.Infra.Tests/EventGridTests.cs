using Coral.Infra.Tests.Arm;
using Coral.Infra.Tests.Infra;
using Coral.Pipeline.Names;

namespace Coral.Infra.Tests;

[Collection(CompiledInfraCollection.Name)]
public sealed class EventGridTests(CompiledInfra infra)
{
    private const string Subscription = "Microsoft.EventGrid/systemTopics/eventSubscriptions";

    [Fact]
    public void System_topic_watches_the_data_account()
    {
        var topic = infra.Template().OfType("Microsoft.EventGrid/systemTopics").Single();
        topic.Eval("properties.topicType").Should().Be("Microsoft.Storage.StorageAccounts");
        ArmExpression.Text(topic.Eval("properties.source")).Should().Contain("outputs.dataAccountId");
        topic.Eval("identity.type").Should().Be("SystemAssigned");
    }

    [Fact]
    public void Subscription_sends_blob_created_under_incoming_to_the_scorers_blobs_webhook()
    {
        var sub = infra.Template().OfType(Subscription).Single();
        ((List<object?>)sub.Eval("properties.filter.includedEventTypes")!).Should().Equal("Microsoft.Storage.BlobCreated");
        sub.Eval("properties.filter.subjectBeginsWith").Should().Be($"/blobServices/default/containers/{Containers.Incoming}/blobs/");

        var url = ArmExpression.Text(sub.Eval("properties.destination.properties.endpointUrl"));
        url.Should().StartWith("https://").And.Contain("outputs.fqdn");
        url.Should().Contain($"/runtime/webhooks/blobs?functionName=Host.Functions.{FunctionNames.Score}&code={CompiledInfra.FakeBlobsExtensionKey}");

        sub.Eval("properties.deadLetterWithResourceIdentity.deadLetterDestination.properties.blobContainerName")
            .Should().Be(Containers.EventGridDeadLetter);
        sub.Eval("properties.deadLetterWithResourceIdentity.identity.type").Should().Be("SystemAssigned");
    }

    [Fact]
    public void Without_the_hosts_key_the_first_pass_creates_no_subscription()
    {
        var firstPass = infra.Template(new Dictionary<string, object?> { ["scorerBlobsExtensionKey"] = "" });
        firstPass.OfType(Subscription).Should().BeEmpty();
        firstPass.OfType("Microsoft.EventGrid/systemTopics").Should().ContainSingle();
    }
}
