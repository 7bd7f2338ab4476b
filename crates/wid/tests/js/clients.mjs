// The unmodified Azure SDK for JavaScript (@azure/identity, @azure/arm-resources) against
// `wid up`, configured exactly as the README's "Other Azure SDKs against wid" says: the
// webhook's variables (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST), NODE_EXTRA_CA_CERTS for wid's CA, and disableInstanceDiscovery
// (MSAL Node otherwise asks login.microsoftonline.com to validate the authority host).
// Prints what it got as one JSON object; the Rust test checks it.
import { DefaultAzureCredential, WorkloadIdentityCredential } from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";

const claims = (token) =>
  JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));

const out = {};
const wi = new WorkloadIdentityCredential({ disableInstanceDiscovery: true });
const t1 = await wi.getToken("https://management.azure.com/.default");
out.workload_identity = { claims: claims(t1.token), expires_on: t1.expiresOnTimestamp };

// As Airflow's provider builds its chain: the managed identity's client id and the tenant.
const dac = new DefaultAzureCredential({
  managedIdentityClientId: process.env.AZURE_CLIENT_ID,
  tenantId: process.env.AZURE_TENANT_ID,
  disableInstanceDiscovery: true,
});
const t2 = await dac.getToken("https://storage.azure.com/.default");
out.default_azure_credential = { claims: claims(t2.token), expires_on: t2.expiresOnTimestamp };

// ARM through the SDK's own pipeline: wid's endpoint, ARM's audience.
const arm = new ResourceManagementClient(wi, process.env.AZURE_SUBSCRIPTION_ID, {
  endpoint: process.env.WID_ENDPOINT,
  credentialScopes: ["https://management.azure.com/.default"],
});
out.resource_groups = [];
for await (const g of arm.resourceGroups.list()) out.resource_groups.push(g.name);
try {
  await arm.resourceGroups.get(process.env.WID_TEST_FORBIDDEN_GROUP);
  out.forbidden = { status: 200 };
} catch (e) {
  out.forbidden = { status: e.statusCode, code: e.code };
}
process.stdout.write(JSON.stringify(out));
