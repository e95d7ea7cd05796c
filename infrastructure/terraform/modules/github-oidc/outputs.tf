output "deploy_role_arn" {
  description = "ARN of the deploy role: the role-to-assume of aws-actions/configure-aws-credentials."
  value       = aws_iam_role.deploy.arn
}

output "deploy_role_name" {
  description = "Name of the deploy role."
  value       = aws_iam_role.deploy.name
}

output "oidc_provider_arn" {
  description = "ARN of GitHub's OIDC identity provider the role trusts (created here or given)."
  value       = local.provider_arn
}
