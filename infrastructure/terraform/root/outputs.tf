# What the toolkit reads (`terraform output -json`): cluster name, region and
# endpoint for `cloud status`/`cloud kubeconfig`, the managed services'
# endpoints for the environment's ConfigMap and env file, and the ECR registry
# and deploy role for the CI workflow. Each is the srvthreds-stack output of
# the same name, described in ../../modules/srvthreds-stack/outputs.tf. No
# output carries a credential unless it is marked sensitive.

output "environment" { value = module.stack.environment }
output "region" { value = module.stack.region }
output "cluster_name" { value = module.stack.cluster_name }
output "cluster_arn" { value = module.stack.cluster_arn }
output "cluster_endpoint" { value = module.stack.cluster_endpoint }
output "cluster_version" { value = module.stack.cluster_version }
output "cluster_certificate_authority_data" { value = module.stack.cluster_certificate_authority_data }
output "oidc_provider_arn" { value = module.stack.oidc_provider_arn }
output "node_group_names" { value = module.stack.node_group_names }
output "vpc_id" { value = module.stack.vpc_id }
output "private_subnet_ids" { value = module.stack.private_subnet_ids }
output "nat_public_ips" { value = module.stack.nat_public_ips }
output "mongodb_connection_host" { value = module.stack.mongodb_connection_host }
output "mongodb_connection_string" { value = module.stack.mongodb_connection_string }
output "mongodb_database" { value = module.stack.mongodb_database }
output "mongodb_username" { value = module.stack.mongodb_username }
output "redis_endpoint" { value = module.stack.redis_endpoint }
output "redis_host" { value = module.stack.redis_host }
output "redis_port" { value = module.stack.redis_port }
output "redis_tls" { value = module.stack.redis_tls }
output "rabbitmq_host" { value = module.stack.rabbitmq_host }
output "rabbitmq_vhost" { value = module.stack.rabbitmq_vhost }
output "ecr_registry" { value = module.stack.ecr_registry }
output "ecr_repository_urls" { value = module.stack.ecr_repository_urls }
output "deploy_role_arn" { value = module.stack.deploy_role_arn }
output "github_oidc_provider_arn" { value = module.stack.github_oidc_provider_arn }

output "rabbitmq_url" {
  value     = module.stack.rabbitmq_url
  sensitive = true
}
