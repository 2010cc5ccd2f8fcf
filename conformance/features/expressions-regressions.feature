Feature: Runtime Expressions (regressions)
  As an implementer of the workflow DSL
  I want to ensure that runtime expressions see the arguments the DSL defines
  So that my implementation conforms to the expected behavior

  # Regression (fixed). dsl.md, Task Descriptor: "output | any | The task's *raw* output (i.e. *BEFORE* the
  # `output.as` expression)." nagare's $task has name, reference, definition, input and
  # startedAt but no output: `$task.output` is null in output.as and export.as.
  Scenario: Raw task output through $task.output
    Given a workflow with definition:
    """yaml
    document: {dsl: '1.0.3', namespace: conformance, name: expr-task-output, version: '1.0.0'}
    do:
      - compute:
          set:
            raw: 1
          output:
            as:
              transformed: ${ .raw + 1 }
              rawInOutputAs: ${ $task.output }
          export:
            as:
              rawInExport: ${ $task.output }
      - report:
          set:
            output: ${ . }
            context: ${ $context }
    """
    When the workflow is executed
    Then the workflow should complete with output:
    """yaml
    output:
      transformed: 2
      rawInOutputAs:
        raw: 1
    context:
      rawInExport:
        raw: 1
    """
