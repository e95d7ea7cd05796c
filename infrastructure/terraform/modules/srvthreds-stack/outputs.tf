# What the environment roots re-export under the same names (see their
# outputs.tf): the cluster, the network, the managed services' endpoints, the
# ECR repositories and the GitHub deploy role.
# No output carries a credential unless it is marked sensitive.

output "environment" {
  description = "Environment name."
  value       = var.environment
}

output "region" {
  description = "AWS region of the cluster."
  value       = var.region
}

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = module.eks.cluster_arn
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the Kubernetes API server."
  value       = module.eks.cluster_endpoint
}

output "cluster_version" {
  description = "Kubernetes version of the EKS control plane."
  value       = module.eks.cluster_version
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded CA certificate of the Kubernetes API server."
  value       = module.eks.cluster_certificate_authority_data
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider, for IRSA roles."
  value       = module.eks.oidc_provider_arn
}

output "node_group_names" {
  description = "Names of the EKS managed node groups."
  value       = module.eks.node_group_names
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.networking.vpc_id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets."
  value       = module.networking.private_subnet_ids
}

output "nat_public_ips" {
  description = "Public IPs the cluster's outbound traffic comes from."
  value       = module.networking.nat_public_ips
}

output "mongodb_connection_host" {
  description = "MongoDB Atlas SRV host (MONGO_HOST): no scheme, no credentials."
  value       = module.mongodb_atlas.connection_host
}

output "mongodb_connection_string" {
  description = "MongoDB Atlas SRV connection string without credentials (mongodb+srv://HOST)."
  value       = module.mongodb_atlas.connection_string
}

output "mongodb_database" {
  description = "Database of the application's Atlas user."
  value       = module.mongodb_atlas.database_name
}

output "mongodb_username" {
  description = "User name of the application's Atlas user (its password is TF_VAR_mongodb_password)."
  value       = module.mongodb_atlas.database_username
}

output "redis_endpoint" {
  description = "Redis Cloud database endpoint (host:port)."
  value       = module.redis_cloud.endpoint
}

output "redis_host" {
  description = "Redis Cloud database host (REDIS_HOST)."
  value       = module.redis_cloud.host
}

output "redis_port" {
  description = "Redis Cloud database port (REDIS_PORT)."
  value       = module.redis_cloud.port
}

output "redis_tls" {
  description = "Whether Redis clients must use TLS."
  value       = module.redis_cloud.tls_enabled
}

output "rabbitmq_host" {
  description = "CloudAMQP host (RABBITMQ_HOST), AMQPS on port 5671."
  value       = module.cloudamqp.host
}

output "rabbitmq_vhost" {
  description = "CloudAMQP virtual host."
  value       = module.cloudamqp.vhost
}

output "rabbitmq_url" {
  description = "CloudAMQP AMQP URL with credentials (RABBITMQ_URL)."
  value       = module.cloudamqp.url
  sensitive   = true
}

output "ecr_registry" {
  description = "ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com): the --registry of `images push`."
  value       = module.ecr.registry_host
}

output "ecr_repository_urls" {
  description = "ECR repository URL by image name (srvthreds-engine, ...)."
  value       = module.ecr.repository_urls
}

output "deploy_role_arn" {
  description = "ARN of the GitHub Actions deploy role (role-to-assume of aws-actions/configure-aws-credentials)."
  value       = module.github_oidc.deploy_role_arn
}

output "github_oidc_provider_arn" {
  description = "ARN of GitHub's OIDC identity provider the deploy role trusts (not the cluster's IRSA provider, oidc_provider_arn)."
  value       = module.github_oidc.oidc_provider_arn
}
